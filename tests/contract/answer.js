#!/usr/bin/env node
// Reads the JSON lines a real agent CLI printed (claude stream-json, codex
// exec --json, gemini stream-json) and prints what a test wants to compare:
//
//   node tests/contract/answer.js FILE            the final answer text
//   node tests/contract/answer.js FILE --tools    one line per tool call:
//                                                 "<name> <command>"
//   node tests/contract/answer.js FILE --summary  a JSON object: format,
//       session_id, text, tools, results, is_error, cost_usd, tokens
//
// Lines that are not JSON are skipped.  Plain Node, no dependencies.
'use strict';
const fs = require('fs');

const [file, mode] = process.argv.slice(2);
if (!file) {
  process.stderr.write('usage: answer.js FILE [--tools|--summary]\n');
  process.exit(2);
}
const events = [];
for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
  if (!line.trim()) continue;
  try { events.push(JSON.parse(line)); } catch (e) { /* not JSON */ }
}

const s = { format: null, session_id: null, text: null, tools: [],
  results: 0, is_error: false, cost_usd: null, tokens: null };
let geminiText = '';
for (const ev of events) {
  // claude
  if (ev.type === 'system' && ev.subtype === 'init') {
    s.format = 'claude'; s.session_id = ev.session_id;
  } else if (ev.type === 'assistant' && ev.message) {
    for (const b of ev.message.content || []) {
      if (b.type === 'tool_use') {
        s.tools.push(`${b.name} ${(b.input && (b.input.command || JSON.stringify(b.input))) || ''}`);
      }
    }
  } else if (ev.type === 'result' && ev.subtype !== undefined) {
    s.format = 'claude'; s.results++;
    s.text = ev.result === undefined ? null : ev.result;
    s.is_error = !!ev.is_error || String(ev.subtype).startsWith('error_');
    s.cost_usd = ev.total_cost_usd;
    if (ev.usage) s.tokens = { input: ev.usage.input_tokens, output: ev.usage.output_tokens };
    if (ev.session_id) s.session_id = ev.session_id;
  // codex
  } else if (ev.type === 'thread.started') {
    s.format = 'codex'; s.session_id = ev.thread_id;
  } else if (ev.type === 'item.completed' && ev.item) {
    if (ev.item.type === 'agent_message') s.text = ev.item.text;
    if (ev.item.type === 'command_execution') s.tools.push(`command_execution ${ev.item.command}`);
  } else if (ev.type === 'turn.completed' || ev.type === 'turn.failed') {
    s.results++;
    s.is_error = ev.type === 'turn.failed';
    if (ev.usage) s.tokens = { input: ev.usage.input_tokens, output: ev.usage.output_tokens };
    if (ev.error) s.text = s.text === null ? ev.error.message : s.text;
  // gemini
  } else if (ev.type === 'init') {
    s.format = 'gemini'; s.session_id = ev.session_id;
  } else if (ev.type === 'message' && ev.role === 'user') {
    geminiText = '';
  } else if (ev.type === 'message' && ev.role === 'assistant') {
    geminiText = ev.delta ? geminiText + ev.content : ev.content;
    s.text = geminiText;
  } else if (ev.type === 'tool_use') {
    s.tools.push(`${ev.tool_name} ${(ev.parameters && ev.parameters.command) || ''}`);
    geminiText = '';
  } else if (ev.type === 'result' && ev.status !== undefined) {
    s.results++;
    s.is_error = ev.status !== 'success';
    if (ev.stats) s.tokens = { input: ev.stats.input_tokens, output: ev.stats.output_tokens };
    if (ev.error && s.text === null) s.text = ev.error.message;
  }
}

if (mode === '--tools') process.stdout.write(s.tools.map((t) => t + '\n').join(''));
else if (mode === '--summary') process.stdout.write(JSON.stringify(s) + '\n');
else process.stdout.write((s.text === null ? '' : s.text) + '\n');
