// Every message is checked before anything acts on it; these are the
// shapes a confused or hostile client sends.
import { describe, expect, it } from 'vitest';
import { ApiError, checkRequest, checkServerMessage, idOf, METHODS } from './validate.js';

function refuse(raw: unknown): string {
  try {
    checkRequest(raw);
  } catch (e) {
    expect(e).toBeInstanceOf(ApiError);
    expect((e as ApiError).code).toBe('bad-request');
    return (e as ApiError).message;
  }
  throw new Error(`accepted ${JSON.stringify(raw)}`);
}

describe('checkRequest', () => {
  it('accepts the calls the renderer makes', () => {
    expect(checkRequest({ id: 1, method: 'lab.info', params: {} }).method).toBe('lab.info');
    expect(checkRequest({ id: 2, method: 'targets.list' }).params).toEqual({});
    const r = checkRequest({ id: 3, method: 'run.start', params: { source: { preset: 'demo' }, target: 'sim', profile: ['pcm-no-sync-stop'], seed: 7, duration: 2e9 } });
    expect(r.params).toEqual({ source: { preset: 'demo' }, target: 'sim', profile: ['pcm-no-sync-stop'], seed: 7, duration: 2e9 });
    expect(checkRequest({ id: 4, method: 'run.start', params: { source: { text: 'name: x', name: 'x' }, target: 'sim', profile: [], seed: 0 } }).params).toMatchObject({ source: { text: 'name: x' } });
    expect(checkRequest({ id: 5, method: 'runs.subscribe', params: { runId: '2026-11-21T05-09-47_demo_sim', from: 100 } }).params).toEqual({ runId: '2026-11-21T05-09-47_demo_sim', from: 100 });
    expect(checkRequest({ id: 6, method: 'run.replay', params: { runId: 'r1', findingId: 'use-after-free#2', t: 5 } }).method).toBe('run.replay');
    expect(checkRequest({ id: 7, method: 'run.start', params: { source: { preset: 'x' }, target: 'vm', profile: ['fixed'], seed: 1, oracle: true } }).params).toMatchObject({ oracle: true });
  });

  it('takes the virtual lab settings the CLI takes as flags, and refuses malformed ones', () => {
    const vm = { kernelVersion: '6.1.0-50..6.1.0-57', patches: ['/home/qa/fix.patch'], rebuild: ['sound/core/seq'], memoryDebug: false, hw: ['seq-dummy'] };
    expect(checkRequest({ id: 1, method: 'run.start', params: { source: { preset: 'seq-pool-resize' }, target: 'vm', profile: ['fixed'], seed: 1, vm } }).params).toMatchObject({ vm });
    expect(checkRequest({ id: 2, method: 'run.start', params: { source: { preset: 'x' }, target: 'vm', profile: ['fixed'], seed: 1, vm: { kernelVersion: '6.12.117+deb12,6.1.0-54' } } }).method).toBe('run.start');
    expect(checkRequest({ id: 3, method: 'devices.list', params: { target: 'vm', vm: { kernelVersion: '6.1.0-54' } } }).params).toMatchObject({ vm: { kernelVersion: '6.1.0-54' } });
    expect(checkRequest({ id: 4, method: 'kernels.list', params: {} }).method).toBe('kernels.list');
    expect(checkRequest({ id: 5, method: 'matrix.get', params: { id: '2026-12-03T10-00-00_seq-pool-resize_vm-matrix' } }).method).toBe('matrix.get');
    const start = (v: unknown) => ({ id: 1, method: 'run.start', params: { source: { preset: 'x' }, target: 'vm', profile: ['fixed'], seed: 1, vm: v } });
    expect(refuse(start({ kernelVersion: '6.1.0-54; rm -rf /' }))).toMatch(/params\.vm\.kernelVersion: expected a kernel version/);
    expect(refuse(start({ patches: ['relative/fix.patch'] }))).toMatch(/params\.vm\.patches\[0\]: expected an absolute path/);
    expect(refuse(start({ rebuild: ['kernel/sched'] }))).toMatch(/params\.vm\.rebuild\[0\]: expected a directory under sound\//);
    expect(refuse(start({ memoryDebug: 'off' }))).toMatch(/params\.vm\.memoryDebug: expected true or false/);
    expect(refuse(start({ kernel: '/boot/vmlinuz' }))).toMatch(/params\.vm: unknown field "kernel"/);
    expect(refuse({ id: 1, method: 'matrix.get', params: { id: '../etc' } })).toMatch(/params\.id: expected a matrix id/);
  });

  it('names the field and what was expected', () => {
    expect(refuse({ id: 1, method: 'run.start', params: { source: { preset: 'demo' }, target: 'sim', profile: ['fixed'], seed: -1 } })).toMatch(/params\.seed: expected an integer from 0 to 4294967295, got number -1/);
    expect(refuse({ id: 1, method: 'run.start', params: { source: { preset: 'demo' }, target: 'sim', seed: 1 } })).toMatch(/params\.profile: missing/);
    expect(refuse({ id: 1, method: 'run.start', params: { source: { preset: 'demo' }, target: 'sim', profile: ['fixed'], seed: 1, oracle: 'yes' } })).toMatch(/params\.oracle: expected/);
    expect(refuse({ id: 1, method: 'presets.load', params: { name: 'demo', extra: 1 } })).toMatch(/unknown field "extra"/);
    expect(refuse({ id: 1, method: 'devices.list', params: { target: 'SIM!' } })).toMatch(/params\.target: expected a target id/);
  });

  it('refuses unknown methods, missing ids and non-objects', () => {
    expect(refuse({ id: 1, method: 'fs.readFile', params: {} })).toMatch(/unknown method "fs\.readFile"/);
    expect(refuse({ id: 1, method: '__proto__', params: {} })).toMatch(/unknown method/);
    expect(refuse({ id: 1, method: 'constructor', params: {} })).toMatch(/unknown method/);
    expect(refuse({ method: 'lab.info' })).toMatch(/^id: /);
    expect(refuse({ id: 1.5, method: 'lab.info' })).toMatch(/^id: /);
    expect(refuse([1, 2])).toMatch(/^message: /);
    expect(refuse('lab.info')).toMatch(/^message: /);
    expect(refuse(null)).toMatch(/^message: /);
    expect(refuse({ id: 1, method: 'lab.info', params: {}, admin: true })).toMatch(/unknown field "admin"/);
  });

  it('never lets a run id name a path', () => {
    for (const runId of ['../etc', '..', 'a/b', '/abs', 'a\\b', '.hidden', '', 'x'.repeat(161)]) expect(refuse({ id: 1, method: 'runs.subscribe', params: { runId } })).toMatch(/params\.runId/);
    for (const name of ['../../x', 'a/b', '.yaml']) expect(refuse({ id: 1, method: 'presets.load', params: { name } })).toMatch(/params\.name/);
  });

  it('bounds sizes', () => {
    expect(refuse({ id: 1, method: 'presets.validate', params: { text: 'x'.repeat((1 << 20) + 1) } })).toMatch(/longer than/);
    expect(refuse({ id: 1, method: 'run.start', params: { source: { preset: 'demo' }, target: 'sim', profile: Array(17).fill('fixed'), seed: 1 } })).toMatch(/more than 16/);
  });

  it('recovers the id of a bad request so the error can be paired with it', () => {
    expect(idOf({ id: 9, method: 'nope' })).toBe(9);
    expect(idOf({ id: 'x' })).toBeNull();
    expect(idOf(null)).toBeNull();
  });

  it('has a parameter check for every method', () => {
    expect(METHODS.length).toBeGreaterThan(15);
    for (const m of METHODS) expect(() => checkRequest({ id: 1, method: m, params: 42 })).toThrow(ApiError);
  });
});

describe('checkServerMessage', () => {
  it('accepts results and pushes, refuses other shapes', () => {
    expect(checkServerMessage({ type: 'result', id: 1, ok: true, result: 5 }).type).toBe('result');
    expect(checkServerMessage({ type: 'events', sub: 's1', runId: 'r', from: 0, events: [] }).type).toBe('events');
    expect(checkServerMessage({ type: 'runs-changed' }).type).toBe('runs-changed');
    expect(() => checkServerMessage({ type: 'events', sub: 's1' })).toThrow(ApiError);
    expect(() => checkServerMessage({ type: 'eval', code: '1' })).toThrow(ApiError);
    expect(() => checkServerMessage('x')).toThrow(ApiError);
  });
});
