"""Translation runs ahead of synthesis (issue 26): sentence k+1 is translated while sentence k
is being spoken; errors reach the caller; leaving early stops the thread."""

from __future__ import annotations

import threading
import time
from types import SimpleNamespace

import pytest

from voxlate.engines.mt.base import Translation
from voxlate.errors import EngineError
from voxlate.pipeline.stream_stages import EngineLocks
from voxlate.pipeline.translate_ahead import TranslationsAhead


class Incremental:
    """A translator that yields sentence by sentence, recording each call."""

    name = "fake"

    def __init__(self, fail_at: int | None = None) -> None:
        self.calls: list[str] = []
        self.translated = [threading.Event() for _ in range(10)]
        self.fail_at = fail_at

    def pairs(self):
        return {("en", "es")}

    def translate(self, text, source, target):
        return text.upper()

    def iter_document(self, texts, source, target):
        for i, t in enumerate(texts):
            if i == self.fail_at:
                raise EngineError("The model cannot be loaded.")
            self.calls.append(t)
            self.translated[i].set()
            yield Translation(t.upper(), "fake")


def engines(translator):
    return SimpleNamespace(translator=translator, source="en", target="es", names={"mt": "fake"})


def test_the_next_sentence_is_translated_while_this_one_is_spoken():
    """Sentence k reaches the caller before sentence k+1 is translated (the translator
    waits for that), and k+1 is translated while the caller still holds k."""
    received = [threading.Event() for _ in range(3)]

    class Handing(Incremental):
        def iter_document(self, texts, source, target):
            for i, t in enumerate(texts):
                if i and not received[i - 1].wait(5):
                    raise EngineError(f"sentence {i - 1} was not handed over before {i}")
                self.calls.append(t)
                self.translated[i].set()
                yield Translation(t.upper(), "fake")

    tr = Handing()
    texts = ["a", "b", "c"]
    out = []
    with TranslationsAhead(engines(tr), EngineLocks(), texts) as ahead:
        for i in range(len(texts)):
            out.append(ahead.get().text)
            received[i].set()
            if i + 1 < len(texts):  # "speaking" sentence i: i+1 gets translated meanwhile
                assert tr.translated[i + 1].wait(5), f"sentence {i + 1} waited for sentence {i}"
        ahead.finish()
    assert out == ["A", "B", "C"]
    assert ahead.seconds >= 0 and ahead.waited >= 0


def test_a_translator_error_reaches_the_caller_in_order():
    tr = Incremental(fail_at=1)
    with TranslationsAhead(engines(tr), EngineLocks(), ["a", "b", "c"]) as ahead:
        assert ahead.get().text == "A"
        with pytest.raises(EngineError, match="cannot be loaded"):
            ahead.get()


def test_a_batch_translator_hands_over_everything_at_once():
    class Batch:
        name = "batch"

        def pairs(self):
            return {("en", "es")}

        def translate(self, text, source, target):
            return text

        def translate_batch(self, texts, source, target):
            return [t + "!" for t in texts]

    with TranslationsAhead(engines(Batch()), EngineLocks(), ["x", "y"]) as ahead:
        assert [ahead.get().text, ahead.get().text] == ["x!", "y!"]


def test_leaving_early_stops_after_the_sentence_in_flight():
    class Slow(Incremental):
        def iter_document(self, texts, source, target):
            for t in texts:
                time.sleep(0.05)
                self.calls.append(t)
                yield Translation(t, "fake")

    tr = Slow()
    with pytest.raises(KeyError):
        with TranslationsAhead(engines(tr), EngineLocks(), list("abcdefghij")) as ahead:
            ahead.get()
            raise KeyError("the synthesizer failed")
    ahead.finish()
    assert len(tr.calls) <= 3, tr.calls


def test_a_fed_sentence_is_translated_before_the_next_is_recognised():
    """With a `TextFeed`, the first sentence is translated while the feed is still open
    (the recognizer is on the next one); the busy time leaves out the wait for texts."""
    from voxlate.pipeline.translate_ahead import TextFeed

    tr = Incremental()
    feed = TextFeed()
    with TranslationsAhead(engines(tr), EngineLocks(), feed) as ahead:
        feed.put("a")
        assert tr.translated[0].wait(5), "the first sentence waited for the whole feed"
        assert ahead.get().text == "A"
        time.sleep(0.3)  # "recognising" the next sentence
        feed.put("b")
        feed.close()
        assert ahead.get().text == "B"
        ahead.finish()
    assert tr.calls == ["a", "b"]
    assert feed.waited >= 0.25
    assert ahead.seconds < 0.25  # translating took no time; the wait is not 'mt'


def test_a_batch_translator_waits_for_the_whole_feed():
    from voxlate.pipeline.translate_ahead import TextFeed

    seen: list[list[str]] = []

    class Batch:
        name = "batch"

        def pairs(self):
            return {("en", "es")}

        def translate(self, text, source, target):
            return text

        def translate_batch(self, texts, source, target):
            seen.append(list(texts))
            return [t + "!" for t in texts]

    feed = TextFeed()
    with TranslationsAhead(engines(Batch()), EngineLocks(), feed) as ahead:
        feed.put("x")
        feed.put("y")
        time.sleep(0.1)
        assert seen == []
        feed.close()
        assert [ahead.get().text, ahead.get().text] == ["x!", "y!"]
    assert seen == [["x", "y"]]
