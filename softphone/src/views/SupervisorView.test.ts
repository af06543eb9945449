import { afterEach, describe, expect, it } from 'vitest';
import { nextTick } from 'vue';
import { mountWith } from '../testing/mount';
import { sampleWallboard } from '../phone/testing/fake-agent-server';
import SupervisorView from './SupervisorView.vue';
import NavBar from '../components/NavBar.vue';
import IntervalChart from '../components/supervisor/IntervalChart.vue';
import { useAgentStore } from '../stores/agent';
import { useSupervisorStore } from '../stores/supervisor';
import { setLanguage } from '../i18n';
import type { QueueFigures } from '../phone';

afterEach(async () => {
  await setLanguage('en');
});

function mountSupervisor(over: Parameters<typeof sampleWallboard>[0] = {}) {
  const wallboard = sampleWallboard(over);
  const r = mountWith(SupervisorView, {
    initialState: {
      agent: { status: 'not-agent', roles: ['supervisor'] },
      supervisor: { wallboard, connection: 'open', now: Date.now(), receivedAt: Date.now() },
    },
  });
  const agent = useAgentStore();
  // @ts-expect-error computed getters are writable in a testing pinia
  agent.isSupervisor = true;
  return r;
}

const row = (start: string, over: Partial<QueueFigures> = {}): QueueFigures => ({
  start,
  end: start,
  queue: 'sales',
  offered: 0,
  answered: 0,
  abandoned: 0,
  overflowed: 0,
  exited: 0,
  shortAbandoned: 0,
  answeredWithinSl: 0,
  serviceLevelPct: null,
  asaSec: null,
  talkSec: null,
  acwSec: null,
  ahtSec: null,
  occupancyPct: null,
  mosAvg: null,
  qualityFlagged: 0,
  ...over,
});

describe('SupervisorView', () => {
  it('shows each queue’s figures, agents by state, the waiting callers and each agent’s call', async () => {
    const { wrapper } = mountSupervisor();
    await nextTick();
    const q = wrapper.get('[data-testid="sup-queue-sales"]');
    expect(q.attributes()).toMatchObject({
      'data-waiting': '1',
      'data-offered': '3',
      'data-answered': '2',
      'data-abandoned': '1',
      'data-service-level': '50',
    });
    expect(wrapper.get('[data-testid="sup-queue-sales-sl"]').text()).toBe('50 %');
    expect(q.text()).toContain('Recorded');
    expect(wrapper.get('[data-testid="sup-queue-sales-agents-on-call"]').text()).toBe('On call: 1');
    expect(wrapper.get('[data-testid="sup-caller-qc-9"]').text()).toContain('+15550109999');
    const carol = wrapper.get('[data-testid="sup-agent-1003"]');
    expect(carol.attributes('data-state')).toBe('on-call');
    expect(wrapper.get('[data-testid="sup-agent-call-1003"]').text()).toContain(
      'Alice (+15550101001)',
    );
    expect(wrapper.find('[data-testid="sup-recorded-1003"]').exists()).toBe(true);
    expect(wrapper.get('[data-testid="sup-agent-handled-1003"]').text()).toBe('2');
  });

  it('flags calls below the MOS threshold and shows each call’s quality', async () => {
    const w = sampleWallboard();
    w.agents[0]!.call!.quality = {
      mos: 2.9,
      jitterMs: 31,
      lossPct: 10.2,
      rttMs: 12,
      at: new Date().toISOString(),
      flagged: true,
    };
    const { wrapper } = mountSupervisor({
      agents: w.agents,
      flagged: [{ queueCallId: 'qc-1', agent: '1003', queue: 'sales', mos: 2.9 }],
    });
    await nextTick();
    expect(wrapper.get('[data-testid="sup-flagged"]').text()).toContain('Carol in Sales: MOS 2.9');
    const cell = wrapper.get('[data-testid="sup-quality-1003"]');
    expect(cell.attributes()).toMatchObject({ 'data-mos': '2.9', 'data-flagged': 'true' });
    expect(cell.text()).toContain('jitter 31 ms · loss 10.2 % · RTT 12 ms');
    expect(wrapper.get('[data-testid="sup-agent-1003"]').classes()).toContain('flagged');
  });

  it('actions: force a state, log out, send a waiting caller to an available agent (keyboard-usable controls)', async () => {
    const { wrapper } = mountSupervisor();
    await nextTick();
    const sup = useSupervisorStore();
    await wrapper.get('[data-testid="sup-force-1004"]').setValue('not-ready');
    await wrapper.get('[data-testid="sup-force-apply-1004"]').trigger('click');
    expect(sup.forceState).toHaveBeenCalledWith('1004', 'not-ready');
    await wrapper.get('[data-testid="sup-logout-1003"]').trigger('click');
    expect(sup.logoutAgent).toHaveBeenCalledWith('1003');
    // only available agents are offered as targets
    const select = wrapper.get('[data-testid="sup-send-select-qc-9"]');
    expect(select.findAll('option').map((o) => o.text())).toEqual([
      'Choose an available agent',
      'Dave',
    ]);
    await select.setValue('1004');
    await wrapper.get('[data-testid="sup-send-qc-9"]').trigger('click');
    expect(sup.sendCaller).toHaveBeenCalledWith('qc-9', '1004');
    // every select has a label
    for (const s of wrapper.findAll('select')) {
      const id = s.attributes('id');
      expect(id && wrapper.find(`label[for="${id}"]`).exists(), id).toBe(true);
    }
  });

  it('the Supervisor tab is shown to supervisors only', async () => {
    const { wrapper } = mountWith(NavBar, { initialState: { agent: { status: 'not-agent' } } });
    expect(wrapper.find('[data-testid="nav-supervisor"]').exists()).toBe(false);
    // @ts-expect-error computed getters are writable in a testing pinia
    useAgentStore().isSupervisor = true;
    await nextTick();
    expect(wrapper.find('[data-testid="nav-supervisor"]').exists()).toBe(true);
  });

  it('in Simplified Chinese', async () => {
    await setLanguage('zh-CN');
    const { wrapper } = mountSupervisor();
    await nextTick();
    expect(wrapper.get('#sup-title').text()).toBe('主管');
    expect(wrapper.text()).toContain('服务水平');
  });
});

describe('IntervalChart', () => {
  it('draws today’s 15-minute slots as SVG bars, with the figures in a table', () => {
    const day = new Date();
    day.setHours(9, 0, 0, 0);
    const at = (min: number) => new Date(day.getTime() + min * 60_000).toISOString();
    const rows = Array.from({ length: 40 }, (_, i) => row(at(i * 15)));
    rows[2] = row(at(30), {
      offered: 3,
      answered: 2,
      abandoned: 1,
      shortAbandoned: 1,
      answeredWithinSl: 1,
    });
    const { wrapper } = mountWith(IntervalChart, { props: { rows } });
    const svg = wrapper.get('svg');
    expect(svg.attributes('viewBox')).toBe('0 0 960 300');
    expect(svg.attributes('aria-label')).toBe('Today: 3 offered, 2 answered, 1 abandoned');
    const slot = wrapper.get('g[data-slot="09:30"]');
    const h = (cls: string) => Number(slot.get(`rect.${cls}`).attributes('height'));
    expect(h('answered')).toBeCloseTo(2 * h('abandoned'));
    const table = wrapper.findAll('[data-testid="sup-chart-row"]');
    expect(table).toHaveLength(1);
    expect(table[0]!.text()).toContain('09:30');
    expect(table[0]!.text()).toContain('50 %');
  });
});
