export interface Config {
  kubechart?: {
    catalog?: {
      /**
       * How often the tenant entity provider reads the tenants, in seconds.
       * @default 30
       */
      frequencySeconds?: number;
    };
  };
}
