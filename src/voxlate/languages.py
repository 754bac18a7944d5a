"""Language codes: ISO 639-1 everywhere in voxlate, mapped to each engine's own."""

from __future__ import annotations

# ISO 639-1 -> (ISO 639-3, English name). 639-3 is what Apertium uses.
LANGUAGES: dict[str, tuple[str, str]] = {
    "af": ("afr", "Afrikaans"),
    "an": ("arg", "Aragonese"),
    "ar": ("ara", "Arabic"),
    "ast": ("ast", "Asturian"),
    "be": ("bel", "Belarusian"),
    "bg": ("bul", "Bulgarian"),
    "br": ("bre", "Breton"),
    "ca": ("cat", "Catalan"),
    "cs": ("ces", "Czech"),
    "cy": ("cym", "Welsh"),
    "da": ("dan", "Danish"),
    "de": ("deu", "German"),
    "el": ("ell", "Greek"),
    "en": ("eng", "English"),
    "eo": ("epo", "Esperanto"),
    "es": ("spa", "Spanish"),
    "et": ("est", "Estonian"),
    "eu": ("eus", "Basque"),
    "fa": ("fas", "Persian"),
    "fi": ("fin", "Finnish"),
    "fr": ("fra", "French"),
    "ga": ("gle", "Irish"),
    "gl": ("glg", "Galician"),
    "he": ("heb", "Hebrew"),
    "hi": ("hin", "Hindi"),
    "hr": ("hrv", "Croatian"),
    "hu": ("hun", "Hungarian"),
    "id": ("ind", "Indonesian"),
    "is": ("isl", "Icelandic"),
    "it": ("ita", "Italian"),
    "ja": ("jpn", "Japanese"),
    "kk": ("kaz", "Kazakh"),
    "ko": ("kor", "Korean"),
    "lt": ("lit", "Lithuanian"),
    "lv": ("lav", "Latvian"),
    "mk": ("mkd", "Macedonian"),
    "mt": ("mlt", "Maltese"),
    "nb": ("nob", "Norwegian Bokmål"),
    "nl": ("nld", "Dutch"),
    "nn": ("nno", "Norwegian Nynorsk"),
    "oc": ("oci", "Occitan"),
    "pl": ("pol", "Polish"),
    "pt": ("por", "Portuguese"),
    "ro": ("ron", "Romanian"),
    "ru": ("rus", "Russian"),
    "sk": ("slk", "Slovak"),
    "sl": ("slv", "Slovenian"),
    "sq": ("sqi", "Albanian"),
    "sr": ("srp", "Serbian"),
    "sv": ("swe", "Swedish"),
    "tr": ("tur", "Turkish"),
    "uk": ("ukr", "Ukrainian"),
    "ur": ("urd", "Urdu"),
    "vi": ("vie", "Vietnamese"),
    "zh": ("zho", "Chinese"),
}
_FROM_639_3 = {v[0]: k for k, v in LANGUAGES.items()}
# Apertium also uses some legacy/B codes.
_FROM_639_3.update({"fre": "fr", "ger": "de", "cze": "cs", "dut": "nl", "srd": "sc", "hbs": "sh"})


def to_639_3(code: str) -> str:
    """'es' -> 'spa'; a code that is already 3 letters passes through."""
    return LANGUAGES[code][0] if code in LANGUAGES else code


def from_639_3(code: str) -> str:
    """'spa' -> 'es'; unknown codes pass through."""
    return _FROM_639_3.get(code, code)


def name(code: str) -> str:
    """'es' -> 'Spanish'."""
    return LANGUAGES.get(code, (code, code))[1]
