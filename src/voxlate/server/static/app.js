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
  clips: {},                 // utterance index -> {rate, chunks: [Int16Array]} of translated audio
  ready: false,              // pairs and voices loaded from the server
};
window.voxlate = state;      // exposed for tests and debugging

const params = new URLSearchParams(location.search);
if (params.get("token")) $("token").value = params.get("token");
const NAMES = { en: "English", es: "Spanish", fr: "French", de: "German", it: "Italian",
  pt: "Portuguese", ca: "Catalan", ko: "Korean", ja: "Japanese", cs: "Czech", eo: "Esperanto",
  gl: "Galician", oc: "Occitan", ro: "Romanian", nl: "Dutch", eu: "Basque", zh: "Chinese" };
const VOICE_LABELS = { preserve: "my own voice", tts: "stock voice", anonymize: "anonymous voice" };
const langName = (c) => NAMES[c] || c;

function token() { return $("token").value.trim(); }
function authHeaders() { return token() ? { Authorization: "Bearer " + token() } : {}; }

// Ask the server which pairs and voices it offers; show the token box only when one is needed.
async function loadOptions() {
  let r = await fetch("/v1/languages", { headers: authHeaders() });
  if (r.status === 401) {
    $("token-box").hidden = false;
    status(token() ? "wrong token: type the server's token" : "this server needs a token");
    return false;
  }
  if (!r.ok) { status("could not load the server's languages"); return false; }
  const info = await r.json();
  const pair = $("pair"), def = `${info.default.source}-${info.default.target}`;
  pair.innerHTML = "";
  for (const p of info.pairs) {
    const o = document.createElement("option");
    o.value = `${p.source}-${p.target}`;
    o.textContent = `${langName(p.source)} → ${langName(p.target)}`;
    o.selected = o.value === def;
    pair.append(o);
  }
  const voice = $("voice");
  voice.innerHTML = "";
  for (const v of info.voice_modes) {
    const o = document.createElement("option");
    o.value = v; o.textContent = VOICE_LABELS[v] || v; o.selected = v === info.default.voice;
    voice.append(o);
  }
  state.ready = true;
  return true;
}
$("token").addEventListener("change", loadOptions);
function pairValue() { const [source, target] = $("pair").value.split("-"); return { source, target }; }

// A 16-bit mono WAV file of `chunks` (Int16Array) at `rate` Hz.
function wavBlob(chunks, rate) {
  const n = chunks.reduce((a, c) => a + c.length, 0);
  const buf = new ArrayBuffer(44 + 2 * n), v = new DataView(buf);
  const put = (o, s) => { for (let i = 0; i < s.length; i++) v.setUint8(o + i, s.charCodeAt(i)); };
  put(0, "RIFF"); v.setUint32(4, 36 + 2 * n, true); put(8, "WAVEfmt ");
  v.setUint32(16, 16, true); v.setUint16(20, 1, true); v.setUint16(22, 1, true);
  v.setUint32(24, rate, true); v.setUint32(28, 2 * rate, true); v.setUint16(32, 2, true);
  v.setUint16(34, 16, true); put(36, "data"); v.setUint32(40, 2 * n, true);
  let o = 44;
  for (const c of chunks) { new Int16Array(buf, o, c.length).set(c); o += 2 * c.length; }
  return new Blob([buf], { type: "audio/wav" });
}

// Replay and download buttons for one utterance's translated speech.
function addClipControls(index) {
  const clip = state.clips[index];
  if (!clip || !clip.chunks.length) return;
  const cell = row(index).querySelector(".audio");
  const url = URL.createObjectURL(wavBlob(clip.chunks, clip.rate));
  cell.innerHTML = "";
  const replay = document.createElement("button");
  replay.textContent = "▶ replay"; replay.className = "replay";
  replay.onclick = () => clip.chunks.forEach((c) => play(c.buffer, clip.rate));
  const save = document.createElement("a");
  save.textContent = "download"; save.className = "download";
  save.href = url; save.download = `translation-${index}.wav`;
  cell.append(replay, save);
}

function status(text, speaking) {
  $("status").textContent = text;
  $("status").className = speaking ? "speaking" : "";
}

function count(name, by = 1) {
  state.counts[name] += by;
  const id = { translations: "n-translations", errors: "n-errors" }[name];
  if (id) $(id).textContent = String(state.counts[name]);
}

function row(index) {
  let tr = document.getElementById("u" + index);
  if (!tr) {
    tr = document.createElement("tr");
    tr.id = "u" + index;
    tr.innerHTML = "<td></td><td class='heard'></td><td class='said'></td><td class='lat'></td>" +
      "<td class='audio'></td>";
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
      addClipControls(ev.index);
      status("listening"); break;
    }
    case "stopped": status("stopped"); break;
    case "error": count("errors"); status("error: " + ev.message); break;
  }
}

async function start() {
  $("start").disabled = true;
  if (!state.ready && !(await loadOptions())) { $("start").disabled = false; return; }
  const tok = token();
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
    if (ev) {
      const clip = state.clips[ev.index] || (state.clips[ev.index] = { rate, chunks: [] });
      clip.chunks.push(new Int16Array(m.data.slice(0)));
    }
    play(m.data, rate);
  };
  ws.onclose = (e) => { status(`disconnected (${e.code}${e.reason ? ": " + e.reason : ""})`); stopCapture(); };
  ws.onopen = async () => {
    ws.send(JSON.stringify({
      type: "start", ...pairValue(),
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

// Upload a recording to /v1/translate; show the translated text and a player with a download link.
async function upload() {
  const file = $("file").files[0];
  const out = $("upload-result");
  if (!file) { out.textContent = "choose a recording first"; return; }
  if (!state.ready && !(await loadOptions())) return;
  const form = new FormData();
  const { source, target } = pairValue();
  form.append("file", file); form.append("source", source); form.append("target", target);
  form.append("voice", $("voice").value); form.append("response_format", "json");
  $("upload").disabled = true;
  out.textContent = "translating " + file.name + "…";
  try {
    const r = await fetch("/v1/translate", { method: "POST", body: form, headers: authHeaders() });
    const body = await r.json();
    if (!r.ok) { count("errors"); out.textContent = "error: " + body.error.message; return; }
    const bytes = Uint8Array.from(atob(body.audio.base64), (c) => c.charCodeAt(0));
    const url = URL.createObjectURL(new Blob([bytes], { type: "audio/wav" }));
    out.innerHTML = "";
    const text = document.createElement("span");
    text.className = "upload-text";
    text.textContent = body.report.segments.map((s) => s.translation).join(" ") + " ";
    const player = document.createElement("audio");
    player.controls = true; player.src = url;
    const save = document.createElement("a");
    save.textContent = "download"; save.href = url; save.className = "download";
    save.download = file.name.replace(/\.[^.]*$/, "") + `.${target}.wav`;
    out.append(text, player, save);
  } catch (err) {
    count("errors"); out.textContent = "error: " + err;
  } finally {
    $("upload").disabled = false;
  }
}

$("start").addEventListener("click", start);
$("stop").addEventListener("click", stop);
$("upload").addEventListener("click", upload);
loadOptions();
