import {
  PLAN_RESOURCES,
  PlanResource,
} from '@kubechart/plugin-assistant-common';
import yaml from 'js-yaml';
import { z } from 'zod';

const inventorySchema = z.object({
  namespaces: z.array(z.string()),
  nodes: z.array(z.string()),
  objects: z.record(
    z.enum(PLAN_RESOURCES),
    z.record(z.string(), z.array(z.string())),
  ),
});

export type InventoryObject = {
  name: string;
  resource: PlanResource;
  namespace?: string;
};

/** Reads eval/cluster.yaml: the pretend cluster questions are asked against. */
export function loadInventory(text: string): InventoryObject[] {
  const data = inventorySchema.parse(yaml.load(text));
  const out: InventoryObject[] = [
    ...data.namespaces.map(name => ({
      name,
      resource: 'namespaces' as const,
    })),
    ...data.nodes.map(name => ({ name, resource: 'nodes' as const })),
  ];
  for (const [resource, byNamespace] of Object.entries(data.objects)) {
    for (const [namespace, names] of Object.entries(byNamespace ?? {})) {
      for (const name of names) {
        out.push({ name, resource: resource as PlanResource, namespace });
      }
    }
  }
  return out;
}

/** A `lookupNames` answering from an inventory, as the backend does from a cluster. */
export function lookupFrom(inventory: InventoryObject[]) {
  return async (words: string[]) => {
    const wanted = new Set(words);
    return inventory.filter(o => wanted.has(o.name));
  };
}
