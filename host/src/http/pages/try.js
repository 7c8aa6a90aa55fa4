// The try-it page: talks to the gateway through /v1/realtime exactly as a browser app would
// (the key, when client tokens are on, in the `openai-insecure-api-key.<token>` subprotocol),
// shows the answer as it streams, the knowledge-base searches with their hits, and voxgate's
// notices. The microphone streams 24 kHz PCM16 where the browser allows it.
"use strict";

const $ = (selector) => document.querySelector(selector);
const SEARCH_TOOL = "search_knowledge_base";
let socket = null;
let answer = null;        // the assistant bubble being streamed
let mic = null;           // { context, source, node, stream } while talking
let playhead = 0;         // when the next audio chunk plays (AudioContext time)
let player = null;
const shownOutputs = new Set(); // call ids whose hits are on screen (items are announced twice)

function bubble(kind, text) {
  const node = document.createElement("div");
  node.className = `msg ${kind}`;
  node.textContent = text;
  $("#chat").append(node);
  $("#chat").scrollTop = $("#chat").scrollHeight;
  return node;
}

function setConnected(state, label) {
  const conn = $("#conn");
  conn.textContent = label;
  conn.className = `badge ${state === "up" ? "ok" : state === "down" ? "dim" : "warn"}`;
  const up = state === "up";
  for (const id of ["#question", "#send", "#mic", "#disconnect"]) $(id).disabled = !up;
  $("#connect").disabled = up;
}

function send(event) {
  if (socket?.readyState === WebSocket.OPEN) socket.send(JSON.stringify(event));
}

function hits(output) {
  // The tool's output: "[chunk id] title: content" blocks, best first.
  return output.split("\n\n").filter(Boolean).map((block) => {
    const match = /^\[([^\]]+)\]\s*([^:]*):\s*([\s\S]*)$/.exec(block);
    return match ? { id: match[1], title: match[2], text: match[3] } : { id: "", title: "", text: block };
  });
}

function showSearch(query) {
  return bubble("search", `searched the knowledge base for “${query}”`);
}

function showHits(output) {
  const node = bubble("search", "hits:");
  const list = document.createElement("ol");
  for (const hit of hits(output)) {
    const item = document.createElement("li");
    item.textContent = hit.id ? `${hit.title} (${hit.id}) — ${hit.text.slice(0, 160)}` : hit.text.slice(0, 200);
    list.append(item);
  }
  node.append(list);
}

function playAudio(base64) {
  if (!player) return;
  const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
  const samples = new Int16Array(bytes.buffer, 0, bytes.length >> 1);
  const buffer = player.createBuffer(1, samples.length, 24000);
  const channel = buffer.getChannelData(0);
  for (let i = 0; i < samples.length; i++) channel[i] = samples[i] / 32768;
  const source = player.createBufferSource();
  source.buffer = buffer;
  source.connect(player.destination);
  playhead = Math.max(playhead, player.currentTime);
  source.start(playhead);
  playhead += buffer.duration;
}

function onEvent(event) {
  const type = event.type || "";
  if (type === "voxgate.session") {
    $("#session-line").textContent = `session ${event.session_id} on knowledge base ${event.kb}`;
    return;
  }
  if (type.startsWith("voxgate.")) {
    const detail = Object.entries(event).filter(([k, v]) => k !== "type" && typeof v !== "object")
      .map(([k, v]) => `${k}: ${v}`).join(", ");
    bubble("notice", `${type.replace("voxgate.", "")}${detail ? ` — ${detail}` : ""}`);
    if (type === "voxgate.upstream.reconnecting") setConnected("warn", "reconnecting");
    if (type === "voxgate.upstream.reconnected" || type === "voxgate.upstream.failover") setConnected("up", "connected");
    return;
  }
  switch (type) {
    case "response.created": answer = null; break;
    case "response.output_text.delta": case "response.text.delta":
    case "response.output_audio_transcript.delta": case "response.audio_transcript.delta":
      if (!answer) answer = bubble("assistant", "");
      answer.textContent += event.delta;
      $("#chat").scrollTop = $("#chat").scrollHeight;
      break;
    case "response.output_audio.delta": case "response.audio.delta": playAudio(event.delta); break;
    case "response.function_call_arguments.done":
      if (event.name === SEARCH_TOOL) {
        let query = event.arguments;
        try { query = JSON.parse(event.arguments).query ?? query; } catch { /* shown raw */ }
        showSearch(query);
      }
      break;
    case "conversation.item.created": case "conversation.item.added":
      if (event.item?.type === "function_call_output" && typeof event.item.output === "string"
        && !shownOutputs.has(event.item.call_id)) {
        shownOutputs.add(event.item.call_id);
        showHits(event.item.output);
      }
      break;
    case "conversation.item.input_audio_transcription.completed": bubble("user", `(voice) ${event.transcript}`); break;
    case "response.done": answer = null; break;
    case "error": bubble("notice", `error ${event.error?.code || ""}: ${event.error?.message || ""}`); break;
  }
}

function connect(kb, clientToken) {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const url = `${scheme}://${location.host}/v1/realtime?kb=${encodeURIComponent(kb)}`;
  const protocols = ["realtime"];
  if (clientToken) protocols.push(`openai-insecure-api-key.${clientToken}`);
  setConnected("warn", "connecting");
  socket = new WebSocket(url, protocols);
  socket.onopen = () => {
    setConnected("up", "connected");
    send({ type: "session.update", session: { type: "realtime", output_modalities: ["text"] } });
  };
  socket.onmessage = (message) => {
    try { onEvent(JSON.parse(message.data)); } catch (error) { bubble("notice", `unreadable event: ${error}`); }
  };
  socket.onclose = (close) => {
    stopMic();
    setConnected("down", "disconnected");
    const why = close.code === 1006 ? "refused or unreachable (a client token may be needed)" : `${close.code} ${close.reason}`;
    bubble("notice", `connection closed: ${why}`);
    socket = null;
  };
}

function ask(text) {
  bubble("user", text);
  send({ type: "conversation.item.create", item: { type: "message", role: "user",
    content: [{ type: "input_text", text }] } });
  send({ type: "response.create" });
}

async function startMic() {
  try {
    const stream = await navigator.mediaDevices.getUserMedia({ audio: { channelCount: 1 } });
    const context = new AudioContext({ sampleRate: 24000 });
    player = player || new AudioContext({ sampleRate: 24000 });
    send({ type: "session.update", session: { type: "realtime", output_modalities: ["audio"] } });
    const source = context.createMediaStreamSource(stream);
    const node = context.createScriptProcessor(2048, 1, 1);
    node.onaudioprocess = (e) => {
      const input = e.inputBuffer.getChannelData(0);
      const pcm = new Int16Array(input.length);
      for (let i = 0; i < input.length; i++) pcm[i] = Math.max(-1, Math.min(1, input[i])) * 0x7fff;
      let binary = "";
      const bytes = new Uint8Array(pcm.buffer);
      for (let i = 0; i < bytes.length; i++) binary += String.fromCharCode(bytes[i]);
      send({ type: "input_audio_buffer.append", audio: btoa(binary) });
    };
    source.connect(node); node.connect(context.destination);
    mic = { context, source, node, stream };
    $("#mic").textContent = "Stop talking";
  } catch (error) {
    bubble("notice", `microphone unavailable: ${error.message}`);
  }
}

function stopMic() {
  if (!mic) return;
  mic.node.disconnect(); mic.source.disconnect();
  mic.stream.getTracks().forEach((t) => t.stop());
  mic.context.close();
  mic = null;
  $("#mic").textContent = "Talk";
  send({ type: "input_audio_buffer.commit" });
  send({ type: "response.create" });
}

$("#connect-form").addEventListener("submit", (e) => {
  e.preventDefault();
  connect($("#kb").value.trim(), $("#client-token").value.trim());
});
$("#disconnect").addEventListener("click", () => socket?.close(1000, "bye"));
$("#ask-form").addEventListener("submit", (e) => {
  e.preventDefault();
  const text = $("#question").value.trim();
  if (!text) return;
  $("#question").value = "";
  ask(text);
});
$("#mic").addEventListener("click", () => (mic ? stopMic() : startMic()));
if (!navigator.mediaDevices?.getUserMedia) $("#mic").hidden = true;

fetch("/try/info").then((r) => r.json()).then((info) => {
  $("#kb").value = new URLSearchParams(location.search).get("kb") || info.default_kb;
  $("#client-token").hidden = !info.client_token_required;
}).catch(() => { $("#kb").value = "default"; });
