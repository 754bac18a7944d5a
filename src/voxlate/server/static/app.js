// voxlate live page: microphone -> 16 kHz PCM over the WebSocket -> events and translated audio.
// No external dependencies. Protocol: docs/live.md.
"use strict";

const RATE = 16000;          // Hz sent to the server
const FRAME = 640;           // samples per frame sent (40 ms at 16 kHz)
const $ = (id) => document.getElementById(id);

const state = {
  ws: null, ctx: null, stream: null, node: null, source: null,
  pending: null,             // 'audio' event waiting for its binary frame
  out: null, playAt: 0,      // output AudioContext and the time the queued audio ends
  buf: new Float32Array(0),  // resampled samples not yet sent
  counts: { transcripts: 0, translations: 0, audio: 0, samples: 0, errors: 0 },
};
window.voxlate = state;      // exposed for tests and debugging

const params = new URLSearchParams(location.search);
if (params.get("token")) $("token").value = params.get("token");

function status(text, speaking) {
  $("status").textContent = text;
  $("status").className = speaking ? "speaking" : "";
}

function count(name, by = 1) {
  state.counts[name] += by;
  const id = { transcripts: "n-transcripts", translations: "n-translations", audio: "n-audio",
               samples: "n-samples", errors: "n-errors" }[name];
  $(id).textContent = String(state.counts[name]);
}

function row(index) {
  let tr = document.getElementById("u" + index);
  if (!tr) {
    tr = document.createElement("tr");
    tr.id = "u" + index;
    tr.innerHTML = "<td></td><td class='heard'></td><td class='said'></td><td class='lat'></td>";
    tr.children[0].textContent = String(index);
    $("rows").prepend(tr);
  }
  return tr;
}

// Linear-interpolation resampler with a one-pole low-pass in front (enough for speech to 16 kHz).
function makeResampler(inRate) {
  const ratio = inRate / RATE;
  let pos = 0, last = 0, lp = 0;
  const alpha = Math.min(1, (2 * Math.PI * 7000) / inRate);
  return (x) => {
    const y = new Float32Array(x.length);
    for (let i = 0; i < x.length; i++) { lp += alpha * (x[i] - lp); y[i] = lp; }
    const out = [];
    while (pos < y.length) {
      const i = Math.floor(pos), f = pos - i;
      const a = i === 0 ? last : y[i - 1], b = y[i];
      out.push(a + (b - a) * f);
      pos += ratio;
    }
    pos -= y.length;
    last = y[y.length - 1];
    return Float32Array.from(out);
  };
}

function sendAudio(samples) {
  const ws = state.ws;
  if (!ws || ws.readyState !== WebSocket.OPEN) return;
  const joined = new Float32Array(state.buf.length + samples.length);
  joined.set(state.buf); joined.set(samples, state.buf.length);
  let off = 0;
  const mute = $("halfduplex").checked && state.out && state.out.currentTime < state.playAt;
  while (joined.length - off >= FRAME) {
    const pcm = new Int16Array(FRAME);
    for (let i = 0; i < FRAME; i++) {
      const v = mute ? 0 : Math.max(-1, Math.min(1, joined[off + i]));
      pcm[i] = v < 0 ? v * 32768 : v * 32767;
    }
    ws.send(pcm.buffer);
    off += FRAME;
  }
  state.buf = joined.slice(off);
  let peak = 0;
  for (let i = 0; i < samples.length; i++) peak = Math.max(peak, Math.abs(samples[i]));
  $("level").firstElementChild.style.width = Math.min(100, peak * 150) + "%";
}

const WORKLET = `
class Tap extends AudioWorkletProcessor {
  process(inputs) { const ch = inputs[0][0]; if (ch) this.port.postMessage(ch.slice(0)); return true; }
}
registerProcessor("voxlate-tap", Tap);`;

async function startCapture() {
  state.stream = await navigator.mediaDevices.getUserMedia({
    audio: { channelCount: 1, echoCancellation: true, noiseSuppression: false, autoGainControl: true },
  });
  state.ctx = new AudioContext();
  const resample = makeResampler(state.ctx.sampleRate);
  state.source = state.ctx.createMediaStreamSource(state.stream);
  const onSamples = (x) => sendAudio(resample(x));
  if (state.ctx.audioWorklet) {
    const url = URL.createObjectURL(new Blob([WORKLET], { type: "application/javascript" }));
    await state.ctx.audioWorklet.addModule(url);
    state.node = new AudioWorkletNode(state.ctx, "voxlate-tap");
    state.node.port.onmessage = (e) => onSamples(e.data);
  } else {  // older browsers
    state.node = state.ctx.createScriptProcessor(2048, 1, 1);
    state.node.onaudioprocess = (e) => onSamples(e.inputBuffer.getChannelData(0));
  }
  state.source.connect(state.node);
  const sink = state.ctx.createGain();
  sink.gain.value = 0;  // keep the graph running without echoing the microphone
  state.node.connect(sink).connect(state.ctx.destination);
}

function play(pcm, rate) {
  if (!state.out) state.out = new AudioContext();
  const n = pcm.byteLength / 2;
  if (n === 0) return;
  const view = new Int16Array(pcm);
  const buf = state.out.createBuffer(1, n, rate);
  const ch = buf.getChannelData(0);
  for (let i = 0; i < n; i++) ch[i] = view[i] / 32768;
  const src = state.out.createBufferSource();
  src.buffer = buf;
  src.connect(state.out.destination);
  const at = Math.max(state.out.currentTime + 0.02, state.playAt);
  src.start(at);
  state.playAt = at + buf.duration;
}

function onEvent(ev) {
  switch (ev.type) {
    case "ready": status("connected; starting…"); break;
    case "started": status(`listening (${ev.source} → ${ev.target}, voice ${ev.voice})`); break;
    case "speech_started": status("hearing speech…", true); row(ev.index); break;
    case "speech_ended": status("translating…"); break;
    case "partial_transcript": {
      const c = row(ev.index).querySelector(".heard");
      c.textContent = ev.text; c.className = "heard partial"; break;
    }
    case "transcript": {
      const c = row(ev.index).querySelector(".heard");
      c.textContent = ev.text; c.className = "heard"; count("transcripts"); break;
    }
    case "translation":
      row(ev.index).querySelector(".said").textContent = ev.text; count("translations"); break;
    case "audio": state.pending = ev; break;
    case "latency": {
      const t = ev.first_audio == null ? "–" : ev.first_audio.toFixed(2) + " s";
      row(ev.index).querySelector(".lat").textContent = t;
      $("last-latency").textContent = t;
      status("listening"); break;
    }
    case "stopped": status("stopped"); break;
    case "error": count("errors"); status("error: " + ev.message); break;
  }
}

async function start() {
  $("start").disabled = true;
  const tok = $("token").value.trim();
  const proto = location.protocol === "https:" ? "wss:" : "ws:";
  const url = `${proto}//${location.host}/v1/live` + (tok ? `?token=${encodeURIComponent(tok)}` : "");
  const ws = new WebSocket(url);
  ws.binaryType = "arraybuffer";
  state.ws = ws;
  ws.onmessage = (m) => {
    if (typeof m.data === "string") { onEvent(JSON.parse(m.data)); return; }
    const ev = state.pending; state.pending = null;
    const rate = ev ? ev.sample_rate : 22050;
    count("audio"); count("samples", m.data.byteLength / 2);
    play(m.data, rate);
  };
  ws.onclose = (e) => { status(`disconnected (${e.code}${e.reason ? ": " + e.reason : ""})`); stopCapture(); };
  ws.onopen = async () => {
    ws.send(JSON.stringify({
      type: "start", source: $("source").value.trim(), target: $("target").value.trim(),
      voice: $("voice").value, sample_rate: RATE, partials: $("partials").checked,
    }));
    try { await startCapture(); $("stop").disabled = false; }
    catch (err) { status("microphone unavailable: " + err); ws.close(); }
  };
}

function stopCapture() {
  if (state.node) state.node.disconnect();
  if (state.source) state.source.disconnect();
  if (state.stream) state.stream.getTracks().forEach((t) => t.stop());
  if (state.ctx) state.ctx.close();
  state.node = state.source = state.stream = state.ctx = null;
  $("start").disabled = false; $("stop").disabled = true;
}

function stop() {
  stopCapture();
  if (state.ws && state.ws.readyState === WebSocket.OPEN) state.ws.send(JSON.stringify({ type: "stop" }));
}

$("start").addEventListener("click", start);
$("stop").addEventListener("click", stop);
