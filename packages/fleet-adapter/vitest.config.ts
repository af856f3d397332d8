import { packageTests } from '../../tools/vitest.shared.ts';

export default packageTests(import.meta.dirname);
