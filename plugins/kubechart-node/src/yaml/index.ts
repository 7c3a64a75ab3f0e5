export * from './limits';
export * from './parseYamlLimited';
export * from './parseJsonLimited';
