import assert from 'node:assert/strict';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { backendUrl, guestToken } from './browser.ts';

/** A real MCP client on the example backend's MCP actions endpoint, acting as the signed-in guest. */
export async function connectAsGuest(name: string): Promise<Client> {
  const client = new Client({ name, version: '1.0.0' });
  await client.connect(
    new StreamableHTTPClientTransport(
      new URL(`${backendUrl}/api/mcp-actions/v1`),
      {
        requestInit: {
          headers: { Authorization: `Bearer ${await guestToken()}` },
        },
      },
    ),
  );
  return client;
}

/** The JSON an action returned, from the text content the MCP actions backend wraps it in. */
export function output(result: Awaited<ReturnType<Client['callTool']>>): any {
  assert.ok(
    !result.isError,
    `tool call failed: ${JSON.stringify(result.content)}`,
  );
  const [first] = result.content as Array<{ type: string; text: string }>;
  return JSON.parse(first.text);
}

/** The run as the agent's get-run tool reports it. */
export async function getRun(client: Client, runId: string): Promise<any> {
  return output(
    await client.callTool({ name: 'kubechart.get-run', arguments: { runId } }),
  ).run;
}

/** Polls the agent's get-run tool until the run has ended (three minutes at most). */
export async function runToEnd(client: Client, runId: string): Promise<any> {
  let run: any;
  for (let i = 0; i < 180; i++) {
    run = await getRun(client, runId);
    if (run.status === 'succeeded' || run.status === 'failed') break;
    await new Promise(r => setTimeout(r, 1000));
  }
  return run;
}
