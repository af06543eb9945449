// Microphones, speakers, ringer and camera: lists that follow `devicechange`,
// the user's choice (persisted), a microphone level meter, and output routing
// of media elements (setSinkId). Backed by the core's DeviceManager, which the
// Phone shares so calls use the same choice.
import { defineStore } from 'pinia';
import { markRaw, ref, shallowRef } from 'vue';
import type { DeviceInfo, DeviceSelection } from '../phone';
import { loadSettings, saveSettings } from '../storage/settings';
import { coreServices, type DeviceManagerLike, type LevelMeterLike } from './core';

export type { DeviceInfo };
export type DeviceSlot = keyof DeviceSelection;

export const useDevicesStore = defineStore('devices', () => {
  const microphones = ref<DeviceInfo[]>([]);
  const speakers = ref<DeviceInfo[]>([]);
  const cameras = ref<DeviceInfo[]>([]);
  const selection = ref<DeviceSelection>({ ...loadSettings().devices });
  const permission = ref<'unknown' | 'granted' | 'denied'>('unknown');
  const level = ref(0);
  const metering = ref(false);
  const error = ref<string | undefined>();
  const sinkSupported =
    typeof HTMLMediaElement !== 'undefined' && 'setSinkId' in HTMLMediaElement.prototype;
  const manager = shallowRef<DeviceManagerLike | undefined>();
  let managerPromise: Promise<DeviceManagerLike> | undefined;
  let createdPromise: Promise<DeviceManagerLike> | undefined;
  let meter: { meter: LevelMeterLike; stream: MediaStream } | undefined;

  function persist(sel: DeviceSelection): void {
    const s = loadSettings();
    s.devices = { ...sel };
    saveSettings(s);
  }

  /** The shared DeviceManager, created (and enumerated) on first use. */
  function ensureManager(): Promise<DeviceManagerLike> {
    if (!managerPromise) {
      const creating = coreServices()
        .createDeviceManager()
        .then((raw) => {
          const m = markRaw(raw);
          m.on('change', (lists) => {
            microphones.value = [...lists.microphones];
            speakers.value = [...lists.speakers];
            cameras.value = [...lists.cameras];
            if (lists.microphones.some((d) => d.label)) permission.value = 'granted';
          });
          m.on('selection', (sel) => {
            selection.value = { ...sel };
            persist(sel);
          });
          // Restore the saved choice before the first enumerate (which drops unplugged ones).
          for (const slot of ['microphone', 'speaker', 'ringer', 'camera'] as const) {
            if (selection.value[slot]) m.select(slot, selection.value[slot]);
          }
          manager.value = m;
          return m;
        });
      createdPromise = creating;
      managerPromise = creating
        .then(async (m) => {
          try {
            await m.enumerate();
          } catch (e) {
            error.value = e instanceof Error ? e.message : String(e);
          }
          return m;
        })
        .catch((e: unknown) => {
          managerPromise = undefined;
          createdPromise = undefined;
          throw e;
        });
    }
    return managerPromise;
  }

  /**
   * The shared DeviceManager as soon as it exists, its first enumeration
   * still running: signing in does not wait for enumerateDevices().
   */
  function managerSoon(): Promise<DeviceManagerLike> {
    const all = ensureManager();
    all.catch(() => undefined);
    return createdPromise ?? all;
  }

  /** Re-lists devices; failures (no mediaDevices outside https) end up in `error`. */
  async function refresh(): Promise<void> {
    try {
      const m = await ensureManager();
      await m.enumerate();
    } catch (e) {
      error.value = e instanceof Error ? e.message : String(e);
    }
  }

  async function requestPermission(video = false): Promise<void> {
    const m = await ensureManager();
    try {
      await m.requestPermission(video);
      permission.value = 'granted';
      error.value = undefined;
    } catch (e) {
      permission.value = 'denied';
      error.value = e instanceof Error ? e.message : String(e);
    }
  }

  async function select(slot: DeviceSlot, deviceId: string): Promise<void> {
    const m = await ensureManager();
    m.select(slot, deviceId);
    if (slot === 'microphone' && metering.value) {
      stopMeter();
      await startMeter();
    }
  }

  /** Label for a device without one (no permission yet). */
  function labelOf(d: DeviceInfo, index: number): string {
    return d.label || `#${index + 1}`;
  }

  /** Routes an <audio>/<video> element to the chosen speaker (or ringer). */
  async function applySink(
    el: HTMLMediaElement,
    slot: 'speaker' | 'ringer' = 'speaker',
  ): Promise<boolean> {
    const id = selection.value[slot];
    try {
      return await coreServices().setSinkId(el, id);
    } catch {
      return false;
    }
  }

  /** Opens the chosen microphone and follows its level (settings page meter). */
  async function startMeter(): Promise<void> {
    if (meter) return;
    try {
      await openMeter();
      error.value = undefined;
    } catch (e) {
      error.value = e instanceof Error ? e.message : String(e);
      if (e instanceof Error && e.name === 'NotAllowedError') permission.value = 'denied';
    }
  }

  async function openMeter(): Promise<void> {
    const m = await ensureManager();
    const md = globalThis.navigator?.mediaDevices;
    if (!md) throw new Error('media devices unavailable');
    const s = loadSettings().webrtc;
    const stream = await md.getUserMedia({
      audio: m.audioConstraints({
        echoCancellation: s.echoCancellation,
        noiseSuppression: s.noiseSuppression,
        autoGainControl: s.autoGainControl,
      }),
    });
    permission.value = 'granted';
    const lm = m.createLevelMeter(stream);
    lm.onLevel((v) => (level.value = v), 100);
    meter = { meter: lm, stream };
    metering.value = true;
    // Labels appear once permission is granted.
    void m.enumerate().catch(() => undefined);
  }

  function stopMeter(): void {
    meter?.meter.stop();
    meter?.stream.getTracks().forEach((t) => t.stop());
    meter = undefined;
    metering.value = false;
    level.value = 0;
  }

  return {
    managerSoon,
    microphones,
    speakers,
    cameras,
    selection,
    permission,
    level,
    metering,
    error,
    sinkSupported,
    manager,
    ensureManager,
    refresh,
    requestPermission,
    select,
    labelOf,
    applySink,
    startMeter,
    stopMeter,
  };
});
