import '@testing-library/jest-dom';
import { configure } from '@testing-library/react';

// The machine running CI is shared; give the UI tests room beyond the defaults.
configure({ asyncUtilTimeout: 5000 });
jest.setTimeout(30_000);
