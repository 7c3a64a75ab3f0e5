import selfsigned from 'selfsigned';

/** A self-signed CA certificate that is also the server certificate, valid for 127.0.0.1 and localhost. */
export function generateServingCert(): { cert: string; key: string } {
  const pems = selfsigned.generate(
    [{ name: 'commonName', value: 'kube-sim-ca' }],
    {
      keySize: 2048,
      days: 365,
      algorithm: 'sha256',
      extensions: [
        { name: 'basicConstraints', cA: true, critical: true },
        {
          name: 'keyUsage',
          keyCertSign: true,
          digitalSignature: true,
          keyEncipherment: true,
          critical: true,
        },
        { name: 'extKeyUsage', serverAuth: true },
        {
          name: 'subjectAltName',
          altNames: [
            { type: 2, value: 'localhost' },
            { type: 2, value: 'kubernetes.default.svc' },
            { type: 7, ip: '127.0.0.1' },
          ],
        },
      ],
    },
  );
  return { cert: pems.cert, key: pems.private };
}
