export * from './limits';
export * from './parseYamlLimited';
