import { InputError } from '@backstage/errors';
import { validateChartRef, validateRepoUrl } from './validation';

describe('validateChartRef', () => {
  it.each([
    'http://10.0.0.1/internal.tgz',
    'https://example.com/x-1.0.0.tgz',
    'file:///etc/passwd',
    'ftp://x/y',
  ])('refuses the chart URL %s (helm would fetch it itself)', chart =>
    expect(() => validateChartRef(chart)).toThrow(InputError),
  );

  it.each(['nginx', 'repo/nginx', 'oci://ghcr.io/acme/web', '/srv/charts/web'])(
    'accepts %s',
    chart => expect(() => validateChartRef(chart)).not.toThrow(),
  );

  it('refuses traversal and option-looking names', () => {
    expect(() => validateChartRef('charts/../../etc')).toThrow(/Invalid chart/);
    expect(() => validateChartRef('--post-renderer=/bin/sh')).toThrow(
      /Invalid chart/,
    );
  });
});

describe('validateRepoUrl', () => {
  it('takes https only, without credentials', () => {
    expect(() =>
      validateRepoUrl('https://charts.example.com/stable'),
    ).not.toThrow();
    expect(() => validateRepoUrl('http://charts.example.com')).toThrow(
      /only https/,
    );
    expect(() => validateRepoUrl('https://u:p@charts.example.com')).toThrow(
      /credentials/,
    );
  });
});
