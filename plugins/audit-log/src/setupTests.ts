import '@testing-library/jest-dom';
import { configure } from '@testing-library/react';

// The machine running CI is shared; give the UI tests room beyond the defaults: a suite's first
// render loads the test app cold, which can take seconds on two busy cores. A wait only runs this
// long when what it waits for is missing.
configure({ asyncUtilTimeout: 15_000 });
jest.setTimeout(60_000);
