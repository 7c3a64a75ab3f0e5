import selfsigned from 'selfsigned';
import { X509Certificate, createPrivateKey } from 'node:crypto';

/** Pairs generated before kube-sim gives up. */
const ATTEMPTS = 5;

/**
 * A self-signed CA certificate that is also the server certificate, valid for 127.0.0.1 and localhost,
 * with its key: one Node (OpenSSL) reads. selfsigned draws a random serial number, and about one in
 * a hundred starts with a zero byte, which OpenSSL 3 refuses (`asn1 encoding routines::illegal
 * padding`, when the server starts): such a pair is generated again.
 */
export function generateServingCert(): { cert: string; key: string } {
  let failure: unknown;
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const pair = generateOnce();
    try {
      // Read as the server will read them.
      if (new X509Certificate(pair.cert) && createPrivateKey(pair.key))
        return pair;
    } catch (e) {
      failure = e;
    }
  }
  throw new Error(
    `kube-sim could not generate a serving certificate Node can read in ${ATTEMPTS} attempts: ${
      failure instanceof Error ? failure.message : String(failure)
    }`,
  );
}

function generateOnce(): { cert: string; key: string } {
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
