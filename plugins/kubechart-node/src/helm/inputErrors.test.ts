import { InputError } from '@backstage/errors';
import path from 'node:path';
import { HelmCli, HelmCommandError } from './HelmCli';
import { which } from '../__testUtils__/helmCluster';

const chart = path.resolve(__dirname, '../__fixtures__/charts/webapp');

describe.each([['helm3'], ['helm4']])(
  'chart input errors from real %s',
  bin => {
    const helm = new HelmCli({ binary: which(bin) });

    it('a bare chart name that is no known chart is an InputError with helm’s message', async () => {
      const err = await helm
        .template({
          release: 'web',
          chart: 'kubechart-service',
          namespace: 'shop',
        })
        .catch(e => e);
      expect(err).toBeInstanceOf(InputError);
      expect(err.message).toMatch(
        /^helm template failed: .*non-absolute URLs should be in form of repo_name\/path_to_chart, got: kubechart-service/s,
      );
      expect(err.cause).toBeInstanceOf(HelmCommandError);
    });

    it('a chart directory that does not exist is an InputError naming the path', async () => {
      const missing = path.join(chart, 'missing');
      const err = await helm
        .template({ release: 'web', chart: missing, namespace: 'shop' })
        .catch(e => e);
      expect(err).toBeInstanceOf(InputError);
      expect(err.message).toContain(missing);
    });

    it('a repository alias helm does not know is an InputError', async () => {
      const err = await helm
        .template({
          release: 'web',
          chart: 'nosuchrepo/web',
          namespace: 'shop',
        })
        .catch(e => e);
      expect(err).toBeInstanceOf(InputError);
      expect(err.message).toMatch(/repo nosuchrepo not found/);
    });

    it('values the templates cannot render are an InputError with helm’s message', async () => {
      const err = await helm
        .template({
          release: 'web',
          chart,
          namespace: 'shop',
          values: { image: 'not-a-map' },
        })
        .catch(e => e);
      expect(err).toBeInstanceOf(InputError);
      expect(err.message).toMatch(
        /^helm template failed: .*webapp\/templates\/deployment\.yaml:24:28.*can't evaluate field repository/s,
      );
    });

    it('values that render into YAML that does not parse are an InputError', async () => {
      const err = await helm
        .template({
          release: 'web',
          chart,
          namespace: 'shop',
          values: { replicas: 'a: b\nc' },
        })
        .catch(e => e);
      expect(err).toBeInstanceOf(InputError);
      expect(err.message).toMatch(
        /YAML parse error on webapp\/templates\/deployment\.yaml/,
      );
    });
  },
);

describe('failures that are not the caller’s input', () => {
  it('stay HelmCommandErrors (HTTP 500)', async () => {
    const helm = new HelmCli({ binary: 'false' });
    const err = await helm
      .template({ release: 'web', chart, namespace: 'shop' })
      .catch(e => e);
    expect(err).toBeInstanceOf(HelmCommandError);
    expect(err).not.toBeInstanceOf(InputError);
  });
});
