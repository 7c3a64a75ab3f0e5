import { DiscoveryApi, FetchApi } from '@backstage/core-plugin-api';
import { ResponseError } from '@backstage/errors';
import {
  AuditEvent,
  AuditEventFilters,
  AuditEventPage,
  AuditEventQuery,
  AuditExportFormat,
  AuditVerifyResult,
} from '@kubechart/plugin-audit-log-common';
import { AuditLogApi } from './AuditLogApi';

/** Turns filters into query parameters, leaving out empty ones. */
export function toSearchParams(
  query: AuditEventQuery & { format?: AuditExportFormat },
): URLSearchParams {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined || value === null || value === '') {
      continue;
    }
    if (Array.isArray(value)) {
      if (value.length > 0) {
        params.set(key, value.join(','));
      }
    } else {
      params.set(key, String(value));
    }
  }
  return params;
}

/**
 * Default {@link AuditLogApi} implementation, talking to the audit-log
 * backend through the discovery and fetch APIs.
 * @public
 */
export class AuditLogClient implements AuditLogApi {
  readonly #discoveryApi: DiscoveryApi;
  readonly #fetchApi: FetchApi;

  constructor(options: { discoveryApi: DiscoveryApi; fetchApi: FetchApi }) {
    this.#discoveryApi = options.discoveryApi;
    this.#fetchApi = options.fetchApi;
  }

  async getEvents(query: AuditEventQuery): Promise<AuditEventPage> {
    return this.#json(`/events?${toSearchParams(query)}`);
  }

  async getEvent(seq: number): Promise<AuditEvent> {
    return this.#json(`/events/${encodeURIComponent(String(seq))}`);
  }

  async verify(): Promise<AuditVerifyResult> {
    return this.#json('/verify');
  }

  async exportEvents(
    filters: AuditEventFilters,
    format: AuditExportFormat,
  ): Promise<{ blob: Blob; filename: string }> {
    const response = await this.#request(
      `/export?${toSearchParams({ ...filters, format })}`,
    );
    const disposition = response.headers.get('content-disposition') ?? '';
    const match = /filename="([^"]+)"/.exec(disposition);
    return {
      blob: await response.blob(),
      filename: match?.[1] ?? `audit-log.${format}`,
    };
  }

  async #json<T>(path: string): Promise<T> {
    const response = await this.#request(path);
    return (await response.json()) as T;
  }

  async #request(path: string): Promise<Response> {
    const baseUrl = await this.#discoveryApi.getBaseUrl('audit-log');
    const response = await this.#fetchApi.fetch(`${baseUrl}${path}`);
    if (!response.ok) {
      throw await ResponseError.fromResponse(response);
    }
    return response;
  }
}
