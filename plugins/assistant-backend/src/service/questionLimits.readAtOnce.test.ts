import { ConfigReader } from '@backstage/config';
import { readBytesAtOnce } from './questionLimits';

const MiB = 1024 * 1024;
const read = (limits: object) =>
  readBytesAtOnce(new ConfigReader({ kubeAssistant: { limits } }));

describe('kubeAssistant.limits.readMegabytesAtOnce', () => {
  it('defaults to what two answers read at their most', () => {
    expect(read({})).toBe(64 * MiB);
    expect(read({ readMegabytesPerAnswer: 100 })).toBe(200 * MiB);
    expect(read({ readMegabytesAtOnce: 48 })).toBe(48 * MiB);
  });

  it('refuses to start with less than one answer reads', () => {
    expect(() => read({ readMegabytesAtOnce: 16 })).toThrow(
      'kubeAssistant.limits.readMegabytesAtOnce must be a whole number of at least 32, not 16',
    );
    expect(() =>
      read({ readMegabytesPerAnswer: 8, readMegabytesAtOnce: 8.5 }),
    ).toThrow(
      'kubeAssistant.limits.readMegabytesAtOnce must be a whole number of at least 8, not 8.5',
    );
  });
});
