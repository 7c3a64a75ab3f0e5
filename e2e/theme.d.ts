// The palettes of @backstage/theme without its React/MUI entry point (screens.e2e.ts compares the
// colours the app draws with the theme's own values).
declare module '@backstage/theme/dist/base/palettes.esm.js' {
  import type { BackstagePaletteAdditions } from '@backstage/theme';
  export const palettes: {
    light: { status: BackstagePaletteAdditions['status'] };
    dark: { status: BackstagePaletteAdditions['status'] };
  };
}
