#!/usr/bin/env node
// Drives a CLI that reads stream-json user messages on stdin (claude -p
// --input-format stream-json): runs CMD, performs the steps in order, writes
// its stdout lines to OUT (and a timed transcript to OUT.timed), stderr to
// OUT.err.  Plain Node, no dependencies.
//
//   node tests/contract/session.js OUT STEP... -- CMD ARGS...
//
// Steps:
//   send:TEXT     write {"type":"user","message":{"role":"user","content":TEXT}}
//   wait:N        wait until N result lines have been printed in all
//   sleep:MS      wait MS milliseconds
//   close         close stdin (the CLI then finishes and exits)
//   kill9         SIGKILL the CLI at once
// The whole run is limited to $SESSION_TIMEOUT_MS (default 60000); the CLI
// is killed when it is over.  Exit status: the CLI's, 137 when killed.
'use strict';
const fs = require('fs');
const { spawn } = require('child_process');

const argv = process.argv.slice(2);
const sep = argv.indexOf('--');
if (argv.length < 3 || sep < 1 || sep === argv.length - 1) {
  process.stderr.write('usage: session.js OUT STEP... -- CMD ARGS...\n');
  process.exit(2);
}
const out = argv[0];
const steps = argv.slice(1, sep);
const cmd = argv.slice(sep + 1);
const limit = Number(process.env.SESSION_TIMEOUT_MS || 60000);

const t0 = Date.now();
const lines = [];
const timed = [];
const stamp = () => ((Date.now() - t0) / 1000).toFixed(2).padStart(6);
const child = spawn(cmd[0], cmd.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] });
const errFile = fs.createWriteStream(out + '.err');
child.stderr.pipe(errFile);
child.stdin.on('error', () => {});
let buf = '';
let results = 0;
child.stdout.on('data', (d) => {
  buf += d.toString('utf8');
  let i;
  while ((i = buf.indexOf('\n')) >= 0) {
    const l = buf.slice(0, i);
    buf = buf.slice(i + 1);
    lines.push(l);
    timed.push(`${stamp()} ${l}`);
    if (/"type":"result"/.test(l)) results++;
  }
});
let exited = null;
const done = new Promise((resolve) => child.on('close', (code, sig) => {
  exited = code === null ? 128 + (sig === 'SIGKILL' ? 9 : 15) : code;
  resolve();
}));
const killer = setTimeout(() => {
  timed.push(`${stamp()} (time limit: killed)`);
  child.kill('SIGKILL');
}, limit);

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

(async () => {
  for (const step of steps) {
    if (exited !== null) break;
    const k = step.indexOf(':');
    const kind = k < 0 ? step : step.slice(0, k);
    const arg = k < 0 ? '' : step.slice(k + 1);
    if (kind === 'send') {
      const line = JSON.stringify({ type: 'user',
        message: { role: 'user', content: arg } });
      timed.push(`${stamp()} >>> ${line}`);
      child.stdin.write(line + '\n');
    } else if (kind === 'wait') {
      while (results < Number(arg) && exited === null) await sleep(20);
    } else if (kind === 'sleep') {
      await sleep(Number(arg));
    } else if (kind === 'close') {
      timed.push(`${stamp()} >>> (stdin closed)`);
      child.stdin.end();
    } else if (kind === 'kill9') {
      timed.push(`${stamp()} >>> (SIGKILL)`);
      child.kill('SIGKILL');
    } else {
      process.stderr.write(`session.js: unknown step: ${step}\n`);
    }
  }
  await done;
  clearTimeout(killer);
  if (buf !== '') { lines.push(buf); timed.push(`${stamp()} ${buf}`); }
  timed.push(`${stamp()} (exit ${exited})`);
  fs.writeFileSync(out, lines.map((l) => l + '\n').join(''));
  fs.writeFileSync(out + '.timed', timed.map((l) => l + '\n').join(''));
  errFile.end();
  process.exitCode = exited;
})();
