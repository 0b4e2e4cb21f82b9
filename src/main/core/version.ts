import packageJson from '../../../package.json' with { type: 'json' };

/** Lodge's version, from package.json. */
export const LODGE_VERSION: string = packageJson.version;
