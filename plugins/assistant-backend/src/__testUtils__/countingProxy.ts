import net from 'node:net';

/** A TCP pass-through in front of the cluster that counts the bytes the cluster sends back. */
export async function countingProxy(port: number) {
  const counted = { bytes: 0 };
  const sockets = new Set<net.Socket>();
  const server = net.createServer(client => {
    const upstream = net.connect(port, '127.0.0.1');
    sockets.add(client).add(upstream);
    upstream.on('data', chunk => {
      counted.bytes += chunk.length;
    });
    client.pipe(upstream).pipe(client);
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
  });
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    counted,
    close: () =>
      new Promise(resolve => {
        server.close(resolve);
        // Kept-alive connections would hold the server open.
        sockets.forEach(s => s.destroy());
      }),
  };
}
