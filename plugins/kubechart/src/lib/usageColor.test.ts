import { lightTheme } from '@backstage/theme';
import { usageGaugeColor, usageSeverity } from './usageColor';

describe('usage colours', () => {
  it('ranks more use as worse', () => {
    expect(usageSeverity(0.1)).toBe('ok');
    expect(usageSeverity(0.69)).toBe('ok');
    expect(usageSeverity(0.75)).toBe('warning');
    expect(usageSeverity(0.9)).toBe('error');
    expect(usageSeverity(1.4)).toBe('error');
  });

  it('draws an idle cluster in the ok colour and a nearly full quota in the error colour', () => {
    const { palette } = lightTheme;
    // LinearGauge passes percent values with max 100.
    expect(usageGaugeColor({ palette, value: 10, max: 100 })).toBe(
      palette.status.ok,
    );
    expect(usageGaugeColor({ palette, value: 75, max: 100 })).toBe(
      palette.status.warning,
    );
    expect(usageGaugeColor({ palette, value: 95, max: 100 })).toBe(
      palette.status.error,
    );
  });
});
