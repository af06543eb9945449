// Types for the parts of npm `rtpengine-client` (CommonJS, untyped) the gateway uses.
declare module 'rtpengine-client' {
  import type { EventEmitter } from 'node:events';

  export type NgResponse = Record<string, unknown> & { result?: string; 'error-reason'?: string };

  export class Client extends EventEmitter {
    constructor(opts?: {
      localPort?: number;
      localAddress?: string;
      timeout?: number;
      rejectOnError?: boolean;
    });
    ping(port: number, host: string): Promise<NgResponse>;
    statistics(port: number, host: string): Promise<NgResponse>;
    list(port: number, host: string, opts?: Record<string, unknown>): Promise<NgResponse>;
    query(port: number, host: string, opts: Record<string, unknown>): Promise<NgResponse>;
    offer(port: number, host: string, opts: Record<string, unknown>): Promise<NgResponse>;
    answer(port: number, host: string, opts: Record<string, unknown>): Promise<NgResponse>;
    delete(port: number, host: string, opts: Record<string, unknown>): Promise<NgResponse>;
    playMedia(port: number, host: string, opts: Record<string, unknown>): Promise<NgResponse>;
    stopMedia(port: number, host: string, opts: Record<string, unknown>): Promise<NgResponse>;
    startRecording(port: number, host: string, opts: Record<string, unknown>): Promise<NgResponse>;
    stopRecording(port: number, host: string, opts: Record<string, unknown>): Promise<NgResponse>;
    subscribeRequest(
      port: number,
      host: string,
      opts: Record<string, unknown>,
    ): Promise<NgResponse>;
    subscribeAnswer(port: number, host: string, opts: Record<string, unknown>): Promise<NgResponse>;
    unsubscribe(port: number, host: string, opts: Record<string, unknown>): Promise<NgResponse>;
    close(): void;
  }

  const rtpengineClient: { Client: typeof Client };
  export default rtpengineClient;
}
