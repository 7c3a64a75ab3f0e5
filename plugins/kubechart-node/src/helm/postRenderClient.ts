/**
 * The post-renderer helm runs: a tiny CommonJS program (no dependencies, no build step) written into
 * the gate's private directory. It forwards stdin to the gate's unix socket and writes back the
 * approved manifests, or exits non-zero with the refusal, so helm applies nothing.
 *
 * It connects before helm's input has arrived and streams that input to the gate as it comes (the
 * gate bounds its size), so the connection overlaps node's start and helm's writing.
 *
 * Wire format, one request per connection:
 *   request:  "<token>\n" + rendered manifests, then end of stream
 *   response: one line of JSON ({"ok":true,"bytes":N} or {"ok":false,"reason":"…"}) + "\n" + the N bytes
 *             of manifests when ok. An answer with fewer or more bytes than announced (the backend stopped
 *             while answering) is refused: helm gets nothing and a non-zero exit.
 */
export const POST_RENDER_CLIENT_SOURCE = `'use strict';
const net = require('node:net');
const [socketPath, token] = process.argv.slice(2);
const fail = message => {
  process.stderr.write('kubechart post-render: ' + message + '\\n');
  process.exit(1);
};
if (!socketPath || !token) fail('usage: <socket> <token>');
const timer = setTimeout(() => fail('the kubechart backend did not answer in time; nothing was applied'), 10 * 60 * 1000);
const conn = net.createConnection(socketPath);
const reply = [];
conn.on('error', e => fail('the kubechart backend is not reachable (' + e.code + '); nothing was applied'));
conn.on('data', c => reply.push(c));
conn.on('end', () => {
  clearTimeout(timer);
  const all = Buffer.concat(reply);
  const nl = all.indexOf(10);
  if (nl < 0) fail('the kubechart backend closed the connection without an answer; nothing was applied');
  let header;
  try {
    header = JSON.parse(all.subarray(0, nl).toString('utf8'));
  } catch (e) {
    fail('unreadable answer from the kubechart backend; nothing was applied');
  }
  if (!header || header.ok !== true) fail(String((header && header.reason) || 'refused'));
  const body = all.subarray(nl + 1);
  if (!Number.isSafeInteger(header.bytes) || body.length !== header.bytes) {
    fail('the kubechart backend sent ' + body.length + ' of ' + header.bytes + ' bytes; nothing was applied');
  }
  process.stdout.write(body, () => process.exit(0));
});
process.stdin.on('error', e => fail('cannot read the rendered manifests: ' + e.message));
conn.write(token + '\\n');
process.stdin.pipe(conn);
`;
