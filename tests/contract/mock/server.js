#!/usr/bin/env node
// A mock of three model APIs, for running the REAL agent CLIs offline:
//
//   Anthropic Messages     POST /v1/messages (SSE or JSON), count_tokens, models
//   OpenAI Responses       POST /v1/responses (SSE or JSON), models
//   Gemini                 POST /v1beta/models/<m>:streamGenerateContent?alt=sse
//                          POST /v1beta/models/<m>:generateContent, :countTokens
//
//   node tests/contract/mock/server.js [--port N] [--log FILE]
//
// Listens on 127.0.0.1 only; prints the port on stdout as its first line.
// Plain Node, no npm dependencies.  SIGTERM/SIGINT stop it.
//
// Replies are scripted by the user's latest prompt text (see README.md):
//   say <words>       the answer is <words> (to the end of the line)
//   run <command>     a shell tool call (claude Bash, codex shell/exec_command,
//                     gemini run_shell_command) when the request offers such a
//                     tool; after the tool result comes back, the final text is
//                     "ran: <first line of the output>"
//   slow <ms>         waits <ms> before answering
//   fail <code>       answers HTTP <code> with an error body in the API's format
//   anything else     the fixed text "mock reply"
// Keywords are case-sensitive and must start a word.
//
// Every response carries usage: input 100 tokens, output 20 tokens (fixed, so
// a CLI's cost per request is predictable: MOCK_INPUT_TOKENS and
// MOCK_OUTPUT_TOKENS change them).
//
// Every request is logged (one JSON line) to --log FILE / $MOCK_LOG, and kept
// in memory: GET /_mock/requests returns them as a JSON array, POST
// /_mock/reset empties it.  MOCK_LOG_BODIES=1 adds the full request bodies.
// A request it does not know gets 200 with an empty JSON object.
'use strict';

const http = require('http');
const fs = require('fs');
const crypto = require('crypto');

// ---------------------------------------------------------------------------
// options

let port = 0;
let logFile = process.env.MOCK_LOG || '';
for (let i = 2; i < process.argv.length; i++) {
  const a = process.argv[i];
  if (a === '--port') port = Number(process.argv[++i]);
  else if (a.startsWith('--port=')) port = Number(a.slice(7));
  else if (a === '--log') logFile = process.argv[++i];
  else if (a.startsWith('--log=')) logFile = a.slice(6);
  else if (a === '-h' || a === '--help') {
    process.stdout.write('usage: server.js [--port N] [--log FILE]\n');
    process.exit(0);
  } else {
    process.stderr.write(`server.js: unknown argument: ${a}\n`);
    process.exit(2);
  }
}
const IN_TOK = Number(process.env.MOCK_INPUT_TOKENS || 100);
const OUT_TOK = Number(process.env.MOCK_OUTPUT_TOKENS || 20);
const LOG_BODIES = process.env.MOCK_LOG_BODIES === '1';
const DEFAULT_TEXT = 'mock reply';

const requests = [];
let logStream = null;
if (logFile) logStream = fs.createWriteStream(logFile, { flags: 'a' });

function log(entry) {
  entry.time = new Date().toISOString();
  requests.push(entry);
  if (requests.length > 5000) requests.shift();
  if (logStream) logStream.write(JSON.stringify(entry) + '\n');
}

const rid = (p) => p + crypto.randomBytes(12).toString('hex');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------
// the script: what to answer to a prompt

// Remove the wrappers the CLIs add around or next to the user's own text.
function cleanPrompt(s) {
  return String(s || '')
    .replace(/<system-reminder>[\s\S]*?<\/system-reminder>/g, '')
    .replace(/<environment_context>[\s\S]*?<\/environment_context>/g, '')
    .replace(/<user_instructions>[\s\S]*?<\/user_instructions>/g, '')
    .replace(/<session_context>[\s\S]*?<\/session_context>/g, '')
    .trim();
}

// -> { text, slow, fail, run } from the user's latest prompt
function script(prompt) {
  const p = cleanPrompt(prompt);
  const d = { prompt: p, text: DEFAULT_TEXT, slow: 0, fail: 0, run: null };
  let m = p.match(/(?:^|\s)slow\s+(\d+)\b/);
  if (m) d.slow = Number(m[1]);
  m = p.match(/(?:^|\s)fail\s+(\d{3})\b/);
  if (m) d.fail = Number(m[1]);
  m = p.match(/(?:^|\s)(say|run)\s+([^\n]+)/);
  if (m && m[1] === 'say') d.text = m[2].trim();
  if (m && m[1] === 'run') d.run = m[2].trim();
  return d;
}

function finalAfterTool(output) {
  const first = String(output || '').split('\n').map((l) => l.trim())
    .find((l) => l !== '') || '';
  return 'ran: ' + first.slice(0, 200);
}

// ---------------------------------------------------------------------------
// HTTP helpers

function sendJSON(res, status, obj, headers) {
  const body = JSON.stringify(obj);
  res.writeHead(status, Object.assign({
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
  }, headers || {}));
  res.end(body);
}

function sseStart(res, headers) {
  res.writeHead(200, Object.assign({
    'content-type': 'text/event-stream',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
  }, headers || {}));
}

// ---------------------------------------------------------------------------
// Anthropic Messages API

function textOf(content) {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content.filter((b) => b && b.type === 'text').map((b) => b.text)
    .join('\n');
}

function anthropicErrorType(code) {
  return ({ 400: 'invalid_request_error', 401: 'authentication_error',
    403: 'permission_error', 404: 'not_found_error',
    413: 'request_too_large', 429: 'rate_limit_error',
    529: 'overloaded_error' })[code] || 'api_error';
}

async function anthropicMessages(req, res, body, entry) {
  const msgs = Array.isArray(body.messages) ? body.messages : [];
  // the last message from the user (claude also sends role "system" ones)
  let last = { content: '' };
  for (let i = msgs.length - 1; i >= 0; i--) {
    if (msgs[i] && msgs[i].role === 'user') { last = msgs[i]; break; }
  }
  const toolNames = (body.tools || []).map((t) => t && t.name).filter(Boolean);
  entry.api = 'anthropic';
  entry.model = body.model;
  entry.stream = !!body.stream;
  entry.tools = toolNames;
  entry.messages = msgs.length;
  entry.system_tail = systemTail(body.system);

  let reply; // { text } | { tool: {name, input} }
  const results = Array.isArray(last.content)
    ? last.content.filter((b) => b && b.type === 'tool_result') : [];
  const d = script(textOf(last.content));
  if (results.length && cleanPrompt(textOf(last.content)) === '') {
    const r = results[results.length - 1];
    const out = typeof r.content === 'string' ? r.content : textOf(r.content);
    entry.tool_result = out.slice(0, 300);
    entry.tool_result_is_error = !!r.is_error;
    reply = { text: finalAfterTool(out) };
  } else {
    entry.prompt = d.prompt.slice(0, 300);
    if (d.slow) await sleep(d.slow);
    if (d.fail) {
      entry.status = d.fail;
      return sendJSON(res, d.fail, { type: 'error', error: {
        type: anthropicErrorType(d.fail), message: `mock failure ${d.fail}` } },
      { 'request-id': rid('req_') });
    }
    if (d.run && toolNames.includes('Bash')) {
      reply = { tool: { id: rid('toolu_'), name: 'Bash',
        input: { command: d.run, description: 'Run the command' } } };
    } else {
      reply = { text: d.text };
    }
  }
  entry.reply = reply.text !== undefined ? { text: reply.text }
    : { tool: reply.tool.name, input: reply.tool.input };
  entry.status = 200;

  const id = rid('msg_');
  const model = body.model || 'claude-sonnet-4-5';
  const usage = { input_tokens: IN_TOK, cache_creation_input_tokens: 0,
    cache_read_input_tokens: 0, output_tokens: OUT_TOK,
    service_tier: 'standard' };
  const block = reply.tool
    ? { type: 'tool_use', id: reply.tool.id, name: reply.tool.name,
      input: reply.tool.input }
    : { type: 'text', text: reply.text };
  const stop = reply.tool ? 'tool_use' : 'end_turn';
  const headers = { 'request-id': rid('req_') };

  if (!body.stream) {
    return sendJSON(res, 200, { id, type: 'message', role: 'assistant', model,
      content: [block], stop_reason: stop, stop_sequence: null, usage },
    headers);
  }
  sseStart(res, headers);
  const ev = (type, data) =>
    res.write(`event: ${type}\ndata: ${JSON.stringify(Object.assign({ type }, data))}\n\n`);
  ev('message_start', { message: { id, type: 'message', role: 'assistant',
    model, content: [], stop_reason: null, stop_sequence: null,
    usage: Object.assign({}, usage, { output_tokens: 1 }) } });
  if (reply.tool) {
    ev('content_block_start', { index: 0, content_block: { type: 'tool_use',
      id: reply.tool.id, name: reply.tool.name, input: {} } });
    ev('ping', {});
    ev('content_block_delta', { index: 0, delta: { type: 'input_json_delta',
      partial_json: JSON.stringify(reply.tool.input) } });
  } else {
    ev('content_block_start', { index: 0,
      content_block: { type: 'text', text: '' } });
    ev('ping', {});
    for (const piece of chunks(reply.text)) {
      ev('content_block_delta', { index: 0,
        delta: { type: 'text_delta', text: piece } });
    }
  }
  ev('content_block_stop', { index: 0 });
  ev('message_delta', { delta: { stop_reason: stop, stop_sequence: null },
    usage: { input_tokens: IN_TOK, cache_creation_input_tokens: 0,
      cache_read_input_tokens: 0, output_tokens: OUT_TOK } });
  ev('message_stop', {});
  res.end();
}

function chunks(text) {
  const out = [];
  for (let i = 0; i < text.length; i += 16) out.push(text.slice(i, i + 16));
  return out.length ? out : [''];
}

function systemTail(sys) {
  let s = '';
  if (typeof sys === 'string') s = sys;
  else if (Array.isArray(sys)) s = sys.map((b) => (b && b.text) || '').join('\n');
  else if (sys && Array.isArray(sys.parts)) s = sys.parts.map((p) => p.text || '').join('\n');
  return s ? s.slice(-200) : undefined;
}

// ---------------------------------------------------------------------------
// OpenAI Responses API

function respContentText(content) {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content.filter((c) => c && (c.type === 'input_text' ||
    c.type === 'output_text' || c.type === 'text')).map((c) => c.text)
    .join('\n');
}

function openaiErrorType(code) {
  return ({ 400: 'invalid_request_error', 401: 'invalid_request_error',
    403: 'invalid_request_error', 404: 'invalid_request_error',
    429: 'rate_limit_exceeded' })[code] || 'server_error';
}

// Every tool the request offers: body.tools, and (codex "responses lite")
// the tools of input items of type additional_tools, namespaces flattened.
function allTools(body) {
  const out = [];
  const walk = (list) => {
    for (const t of list || []) {
      if (!t) continue;
      if (t.type === 'namespace') walk(t.tools);
      else out.push(t);
    }
  };
  walk(body.tools);
  for (const it of Array.isArray(body.input) ? body.input : []) {
    if (it && it.type === 'additional_tools') walk(it.tools);
  }
  return out;
}

function shellCallFor(tools, cmd) {
  // codex offers one of these, depending on version, model and config
  const byName = {};
  for (const t of tools || []) {
    if (t && t.name) byName[t.name] = t;
    if (t && t.type === 'local_shell') byName.local_shell = t;
  }
  if (byName.exec && byName.exec.type === 'custom' && !byName.exec_command &&
      !byName.shell_command && !byName.shell) {
    // code mode: the model writes JavaScript that calls the nested tools
    return { custom: true, name: 'exec', input:
      `const r = await tools.exec_command({ cmd: ${JSON.stringify(cmd)} });\n` +
      'text(typeof r === "string" ? r : (r && typeof r.output === "string" ? r.output : JSON.stringify(r)));\n' };
  }
  if (byName.shell_command) return { name: 'shell_command', args: { command: cmd } };
  if (byName.exec_command) return { name: 'exec_command', args: { cmd } };
  if (byName.shell) return { name: 'shell', args: { command: ['bash', '-lc', cmd] } };
  if (byName.local_shell) return { local: true, args: { command: ['bash', '-lc', cmd] } };
  return null;
}

async function openaiResponses(req, res, body, entry) {
  const input = Array.isArray(body.input) ? body.input
    : (typeof body.input === 'string'
      ? [{ type: 'message', role: 'user', content: body.input }] : []);
  entry.api = 'openai';
  entry.model = body.model;
  entry.stream = !!body.stream;
  const tools = allTools(body);
  entry.tools = tools.map((t) => t.name || t.type);
  entry.items = input.length;
  entry.system_tail = typeof body.instructions === 'string'
    ? body.instructions.slice(-200) : undefined;

  // the last item decides: a tool output, or the user's message
  let lastIdx = input.length - 1;
  while (lastIdx >= 0 && input[lastIdx].type === 'reasoning') lastIdx--;
  const last = lastIdx >= 0 ? input[lastIdx] : null;
  let reply;
  if (last && (last.type === 'function_call_output' ||
      last.type === 'local_shell_call_output' ||
      last.type === 'custom_tool_call_output')) {
    let out = last.output;
    if (Array.isArray(out)) out = out.map((c) => (c && c.text) || '').join('');
    else if (out && typeof out === 'object') out = out.content || JSON.stringify(out);
    out = String(out || '');
    // codex wraps output as JSON {"output": ..., "metadata": ...} or as text
    // "Exit code: 0\nWall time: ...\nOutput:\n<out>"
    const m = out.match(/(?:^|\n)Output:\n([\s\S]*)$/);
    if (m) out = m[1];
    try { const j = JSON.parse(out.trim()); if (j && typeof j.output === 'string') out = j.output; } catch (e) { /* text */ }
    entry.tool_result = out.slice(0, 300);
    reply = { text: finalAfterTool(out) };
  } else {
    let text = '';
    for (let i = input.length - 1; i >= 0; i--) {
      const it = input[i];
      if ((it.type === 'message' || it.type === undefined) && it.role === 'user') {
        const t = cleanPrompt(respContentText(it.content));
        if (t !== '') { text = t; break; }
      }
    }
    const d = script(text);
    entry.prompt = d.prompt.slice(0, 300);
    if (d.slow) await sleep(d.slow);
    if (d.fail) {
      entry.status = d.fail;
      return sendJSON(res, d.fail, { error: { message: `mock failure ${d.fail}`,
        type: openaiErrorType(d.fail), param: null, code: null } });
    }
    const call = d.run ? shellCallFor(tools, d.run) : null;
    reply = call ? { call } : { text: d.text };
  }
  entry.status = 200;
  entry.reply = reply.text !== undefined ? { text: reply.text }
    : { tool: reply.call.name || 'local_shell',
      input: reply.call.custom ? reply.call.input : reply.call.args };

  const respId = rid('resp_');
  const usage = { input_tokens: IN_TOK,
    input_tokens_details: { cached_tokens: 0 }, output_tokens: OUT_TOK,
    output_tokens_details: { reasoning_tokens: 0 },
    total_tokens: IN_TOK + OUT_TOK };
  let item;
  if (reply.call && reply.call.custom) {
    item = { type: 'custom_tool_call', id: rid('ctc_'), call_id: rid('call_'),
      name: reply.call.name, input: reply.call.input, status: 'completed' };
  } else if (reply.call && reply.call.local) {
    item = { type: 'local_shell_call', id: rid('lsh_'), call_id: rid('call_'),
      status: 'completed', action: { type: 'exec', command: reply.call.args.command,
        env: {} } };
  } else if (reply.call) {
    item = { type: 'function_call', id: rid('fc_'), call_id: rid('call_'),
      name: reply.call.name, arguments: JSON.stringify(reply.call.args),
      status: 'completed' };
  } else {
    item = { type: 'message', id: rid('msg_'), role: 'assistant',
      status: 'completed',
      content: [{ type: 'output_text', text: reply.text, annotations: [] }] };
  }
  const response = (status, output) => ({ id: respId, object: 'response',
    created_at: Math.floor(Date.now() / 1000), status, model: body.model,
    output, usage: status === 'completed' ? usage : null });

  if (!body.stream) return sendJSON(res, 200, response('completed', [item]));
  sseStart(res);
  let seq = 0;
  const ev = (type, data) => res.write(`event: ${type}\ndata: ${JSON.stringify(
    Object.assign({ type, sequence_number: seq++ }, data))}\n\n`);
  ev('response.created', { response: response('in_progress', []) });
  ev('response.in_progress', { response: response('in_progress', []) });
  if (item.type === 'message') {
    const added = Object.assign({}, item, { status: 'in_progress', content: [] });
    ev('response.output_item.added', { output_index: 0, item: added });
    ev('response.content_part.added', { item_id: item.id, output_index: 0,
      content_index: 0, part: { type: 'output_text', text: '', annotations: [] } });
    for (const piece of chunks(reply.text)) {
      ev('response.output_text.delta', { item_id: item.id, output_index: 0,
        content_index: 0, delta: piece });
    }
    ev('response.output_text.done', { item_id: item.id, output_index: 0,
      content_index: 0, text: reply.text });
    ev('response.content_part.done', { item_id: item.id, output_index: 0,
      content_index: 0, part: item.content[0] });
  } else {
    ev('response.output_item.added', { output_index: 0, item });
    if (item.type === 'custom_tool_call') {
      ev('response.custom_tool_call_input.delta', { item_id: item.id,
        output_index: 0, delta: item.input });
      ev('response.custom_tool_call_input.done', { item_id: item.id,
        output_index: 0, input: item.input });
    }
    if (item.type === 'function_call') {
      ev('response.function_call_arguments.delta', { item_id: item.id,
        output_index: 0, delta: item.arguments });
      ev('response.function_call_arguments.done', { item_id: item.id,
        output_index: 0, arguments: item.arguments });
    }
  }
  ev('response.output_item.done', { output_index: 0, item });
  ev('response.completed', { response: response('completed', [item]) });
  res.end();
}

// ---------------------------------------------------------------------------
// Gemini API

function geminiStatus(code) {
  return ({ 400: 'INVALID_ARGUMENT', 401: 'UNAUTHENTICATED',
    403: 'PERMISSION_DENIED', 404: 'NOT_FOUND', 429: 'RESOURCE_EXHAUSTED',
    503: 'UNAVAILABLE', 504: 'DEADLINE_EXCEEDED' })[code] || 'INTERNAL';
}

// A value that fits a JSON schema (OpenAPI-style "responseSchema" with
// upper-case types, or "responseJsonSchema").  Picks "user" for an enum that
// has it (gemini's next-speaker check), else the first choice.
function fromSchema(s, key) {
  if (!s || typeof s !== 'object') return null;
  if (Array.isArray(s.enum) && s.enum.length) {
    return s.enum.includes('user') ? 'user' : s.enum[0];
  }
  if (s.const !== undefined) return s.const;
  for (const k of ['anyOf', 'oneOf']) {
    if (Array.isArray(s[k]) && s[k].length) return fromSchema(s[k][0], key);
  }
  let type = s.type;
  if (Array.isArray(type)) type = type.find((t) => String(t).toLowerCase() !== 'null') || type[0];
  type = String(type || (s.properties ? 'object' : 'string')).toLowerCase();
  switch (type) {
    case 'object': {
      const o = {};
      for (const [k, v] of Object.entries(s.properties || {})) o[k] = fromSchema(v, k);
      return o;
    }
    case 'array': {
      const n = Math.max(1, s.minItems || 0);
      return Array.from({ length: n }, () => fromSchema(s.items, key));
    }
    // 1, not 0: gemini's classifier wants a score in 1..100 without saying so
    case 'integer': return s.minimum !== undefined ? s.minimum : 1;
    case 'number': return s.minimum !== undefined ? s.minimum : 1;
    case 'boolean': return false;
    default: return key === 'reasoning' ? 'mock reasoning' : DEFAULT_TEXT;
  }
}

async function gemini(req, res, body, entry, model, method, url) {
  const contents = Array.isArray(body.contents) ? body.contents : [];
  const gc = body.generationConfig || body.config || {};
  const schema = gc.responseJsonSchema || gc.responseSchema || gc.response_schema;
  const decls = [];
  for (const t of body.tools || []) {
    for (const f of (t.functionDeclarations || t.function_declarations || [])) decls.push(f.name);
  }
  entry.api = 'gemini';
  entry.model = model;
  entry.stream = method === 'streamGenerateContent';
  entry.tools = decls;
  entry.contents = contents.length;
  entry.schema = !!schema;
  entry.system_tail = systemTail(body.systemInstruction || body.system_instruction);

  const last = contents.length ? contents[contents.length - 1] : { parts: [] };
  const parts = Array.isArray(last.parts) ? last.parts : [];
  const fres = parts.filter((p) => p && p.functionResponse);
  let reply;
  if (fres.length && !parts.some((p) => p.text && cleanPrompt(p.text) !== '')) {
    const r = fres[fres.length - 1].functionResponse.response || {};
    let out = r.output !== undefined ? r.output : (r.error !== undefined ? r.error : JSON.stringify(r));
    out = String(out);
    const m = out.match(/Output: ([\s\S]*?)(\nError:|\nExit Code:|$)/);
    if (m) out = m[1];
    entry.tool_result = out.slice(0, 300);
    reply = { text: finalAfterTool(out) };
  } else {
    const text = parts.filter((p) => p && typeof p.text === 'string').map((p) => p.text).join('\n');
    const d = script(text);
    entry.prompt = d.prompt.slice(0, 300);
    if (d.slow) await sleep(d.slow);
    // gemini's routing question (a JSON schema) is answered even then: the
    // failure is for the chat request itself
    if (d.fail && !schema) {
      entry.status = d.fail;
      return sendJSON(res, d.fail, { error: { code: d.fail,
        message: `mock failure ${d.fail}`, status: geminiStatus(d.fail) } });
    }
    if (schema) reply = { text: JSON.stringify(fromSchema(schema)) };
    else if (d.run && decls.includes('run_shell_command')) {
      reply = { call: { name: 'run_shell_command',
        args: { command: d.run, description: 'Run the command' } } };
    } else reply = { text: d.text };
  }
  entry.status = 200;
  entry.reply = reply.text !== undefined ? { text: reply.text }
    : { tool: reply.call.name, input: reply.call.args };

  const usageMetadata = { promptTokenCount: IN_TOK, candidatesTokenCount: OUT_TOK,
    totalTokenCount: IN_TOK + OUT_TOK, cachedContentTokenCount: 0 };
  const cand = (partsOut, finish) => {
    const c = { content: { role: 'model', parts: partsOut }, index: 0 };
    if (finish) c.finishReason = finish;
    return c;
  };
  const respId = rid('');
  const wrap = (candidates, withUsage) => {
    const o = { candidates, modelVersion: model, responseId: respId };
    if (withUsage) o.usageMetadata = usageMetadata;
    return o;
  };
  if (method !== 'streamGenerateContent') {
    const p = reply.call ? [{ functionCall: reply.call }] : [{ text: reply.text }];
    return sendJSON(res, 200, wrap([cand(p, 'STOP')], true));
  }
  sseStart(res);
  const send = (o) => res.write(`data: ${JSON.stringify(o)}\r\n\r\n`);
  if (reply.call) {
    send(wrap([cand([{ functionCall: reply.call }], 'STOP')], true));
  } else {
    const pcs = chunks(reply.text);
    pcs.forEach((piece, i) => {
      const lastOne = i === pcs.length - 1;
      send(wrap([cand([{ text: piece }], lastOne ? 'STOP' : undefined)], lastOne));
    });
  }
  res.end();
}

// ---------------------------------------------------------------------------
// routing

function summarize(body) {
  const s = JSON.stringify(body);
  return s.length > 300 ? s.slice(0, 300) + '...' : s;
}

async function handle(req, res, raw) {
  const url = new URL(req.url, 'http://127.0.0.1');
  const path = url.pathname;
  const entry = { method: req.method, path: req.url, bytes: raw.length,
    ua: req.headers['user-agent'] };
  let body = {};
  if (raw.length) {
    try { body = JSON.parse(raw.toString('utf8')); } catch (e) { body = { _raw: raw.toString('utf8').slice(0, 300) }; }
  }
  if (LOG_BODIES) entry.body = body;
  try {
    if (path === '/_mock/requests') return sendJSON(res, 200, requests);
    if (path === '/_mock/reset') { requests.length = 0; return sendJSON(res, 200, {}); }
    if (req.method === 'POST' && /\/v1\/messages\/?$/.test(path)) {
      return await anthropicMessages(req, res, body, entry);
    }
    if (req.method === 'POST' && /\/v1\/messages\/count_tokens$/.test(path)) {
      entry.api = 'anthropic'; entry.status = 200;
      return sendJSON(res, 200, { input_tokens: IN_TOK });
    }
    if (req.method === 'POST' && /\/responses\/?$/.test(path)) {
      return await openaiResponses(req, res, body, entry);
    }
    let m = path.match(/\/models\/([^/:]+):(streamGenerateContent|generateContent|countTokens|embedContent|batchEmbedContents)$/);
    if (m && req.method === 'POST') {
      const [, model, method] = m;
      if (method === 'countTokens') {
        entry.api = 'gemini'; entry.status = 200;
        return sendJSON(res, 200, { totalTokens: IN_TOK });
      }
      if (method === 'embedContent') {
        entry.api = 'gemini'; entry.status = 200;
        return sendJSON(res, 200, { embedding: { values: [0, 0, 0] } });
      }
      if (method === 'batchEmbedContents') {
        entry.api = 'gemini'; entry.status = 200;
        return sendJSON(res, 200, { embeddings: (body.requests || []).map(() => ({ values: [0, 0, 0] })) });
      }
      return await gemini(req, res, body, entry, decodeURIComponent(model), method, url);
    }
    if (req.method === 'GET' && /\/v1\/models\/?$/.test(path)) {
      entry.status = 200;
      // both shapes at once: Anthropic's {data, has_more} and OpenAI's {object, data}
      return sendJSON(res, 200, { object: 'list', has_more: false, first_id: null, last_id: null,
        data: [], models: [] });
    }
    if (req.method === 'GET' && /\/v1beta\/models\/?$/.test(path)) {
      entry.status = 200;
      return sendJSON(res, 200, { models: [] });
    }
    // anything else: an empty but valid answer
    entry.unknown = true;
    entry.summary = raw.length ? summarize(body) : undefined;
    entry.status = 200;
    return sendJSON(res, 200, {});
  } catch (e) {
    entry.status = 500;
    entry.error = String(e && e.stack || e);
    if (!res.headersSent) sendJSON(res, 500, { error: { message: String(e) } });
    else res.end();
  } finally {
    log(entry);
  }
}

const server = http.createServer((req, res) => {
  const bufs = [];
  req.on('data', (b) => bufs.push(b));
  req.on('end', () => { handle(req, res, Buffer.concat(bufs)); });
  req.on('error', () => {});
});
server.keepAliveTimeout = 5000;
server.on('clientError', (err, socket) => { socket.destroy(); });
server.listen(port, '127.0.0.1', () => {
  process.stdout.write(`${server.address().port}\n`);
});
server.on('error', (e) => {
  process.stderr.write(`server.js: ${e.message}\n`);
  process.exit(1);
});
function stop() {
  server.close();
  if (logStream) logStream.end();
  setTimeout(() => process.exit(0), 100).unref();
  server.closeAllConnections && server.closeAllConnections();
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
