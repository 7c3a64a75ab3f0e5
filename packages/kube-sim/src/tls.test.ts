import selfsigned from 'selfsigned';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { generateServingCert } from './tls';

describe('generateServingCert', () => {
  afterEach(() => jest.restoreAllMocks());

  it('gives a certificate and key Node reads, generating again when one it was given is not', () => {
    const real = selfsigned.generate;
    const generate = jest.spyOn(selfsigned, 'generate');
    // The first pair unreadable, as a certificate whose serial number starts with a zero byte is
    // for OpenSSL 3 ("asn1 encoding routines::illegal padding"); the next one real.
    generate
      .mockImplementationOnce(() => ({
        cert: '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n',
        private: 'not a key',
        public: '',
        fingerprint: '',
      }))
      .mockImplementation(real);
    const pair = generateServingCert();
    expect(generate).toHaveBeenCalledTimes(2);
    expect(new X509Certificate(pair.cert).subject).toBe('CN=kube-sim-ca');
    expect(createPrivateKey(pair.key).asymmetricKeyType).toBe('rsa');
  });

  it('gives up with a clear error when no pair it is given can be read', () => {
    jest.spyOn(selfsigned, 'generate').mockImplementation(() => ({
      cert: 'x',
      private: 'y',
      public: '',
      fingerprint: '',
    }));
    expect(() => generateServingCert()).toThrow(
      /kube-sim could not generate a serving certificate Node can read in 5 attempts/,
    );
  });
});
