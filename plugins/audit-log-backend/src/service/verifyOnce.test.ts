import { mockServices } from '@backstage/backend-test-utils';
import { MiddlewareFactory } from '@backstage/backend-defaults/rootHttpRouter';
import express from 'express';
import request from 'supertest';
import { AuditStore } from '../database/AuditStore';
import { createRouter } from './router';

describe('GET /verify', () => {
  it('walks the chain once for requests that come while a walk runs, and answers each of them', async () => {
    let walks = 0;
    const waiting: Array<() => void> = [];
    const release = () => waiting.splice(0).forEach(r => r());
    const store = {
      verify: jest.fn(async () => {
        walks += 1;
        await new Promise<void>(r => waiting.push(r));
        return { ok: true, checked: 1_000_000, keyed: false };
      }),
    } as unknown as AuditStore;
    const router = await createRouter({
      store,
      httpAuth: mockServices.httpAuth(),
      permissions: mockServices.permissions(),
      auditor: mockServices.auditor.mock(),
      logger: mockServices.logger.mock(),
      witness: jest.fn(),
    });
    const app = express().use(router);
    app.use(
      MiddlewareFactory.create({
        config: mockServices.rootConfig(),
        logger: mockServices.logger.mock(),
      }).error(),
    );
    const answers = Promise.all(
      Array.from({ length: 5 }, () => request(app).get('/verify')),
    );
    for (let i = 0; i < 50 && walks === 0; i++)
      await new Promise(r => setTimeout(r, 10));
    await new Promise(r => setTimeout(r, 100));
    release();
    const done = await answers;
    expect(done.map(r => r.status)).toEqual([200, 200, 200, 200, 200]);
    expect(done.every(r => r.body.checked === 1_000_000)).toBe(true);
    expect(walks).toBe(1);
    // A request after the walk ended walks again.
    const again = request(app).get('/verify');
    setTimeout(() => release(), 100);
    expect((await again).status).toBe(200);
    expect(walks).toBe(2);
  });
});
