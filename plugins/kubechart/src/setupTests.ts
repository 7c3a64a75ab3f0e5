import '@testing-library/jest-dom';
import { configure } from '@testing-library/react';

// The machine running CI is shared; give the UI tests room beyond the defaults. A suite's first
// render loads the test app cold, which took over 5 s on two busy cores (a progress bar that never
// goes away was not found in time); a wait only runs this long when what it waits for is missing.
configure({ asyncUtilTimeout: 15_000 });
jest.setTimeout(60_000);
