/**
 * The post-renderer helm runs: a tiny CommonJS program (no dependencies, no build step) written into
 * the gate's private directory. It forwards stdin to the gate's unix socket and writes back the
 * approved manifests, or exits non-zero with the refusal, so helm applies nothing.
 *
 * Wire format, one request per connection:
 *   request:  "<token>\n" + rendered manifests, then end of stream
 *   response: one line of JSON ({"ok":true} or {"ok":false,"reason":"…"}) + "\n" + manifests when ok
 */
export const POST_RENDER_CLIENT_SOURCE = `'use strict';
const net = require('node:net');
const [socketPath, token] = process.argv.slice(2);
const fail = message => {
  process.stderr.write('kubechart post-render: ' + message + '\\n');
  process.exit(1);
};
if (!socketPath || !token) fail('usage: <socket> <token>');
const input = [];
process.stdin.on('data', c => input.push(c));
process.stdin.on('error', e => fail('cannot read the rendered manifests: ' + e.message));
process.stdin.on('end', () => {
  const conn = net.createConnection(socketPath);
  const reply = [];
  const timer = setTimeout(() => fail('the kubechart backend did not answer in time'), 10 * 60 * 1000);
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
      fail('unreadable answer from the kubechart backend');
    }
    if (!header || header.ok !== true) fail(String((header && header.reason) || 'refused'));
    process.stdout.write(all.subarray(nl + 1), () => process.exit(0));
  });
  conn.write(token + '\\n');
  conn.end(Buffer.concat(input));
});
`;
