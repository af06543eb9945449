import { ref } from 'vue';
import { dayRange, useSupervisorStore } from '../../stores/supervisor';

// What the supervisor's panels share: agents' names from the wallboard and the
// day a date input picks.

/** An agent's display name from the wallboard, else the username. */
export function useAgentNames(): (username: string) => string {
  const sup = useSupervisorStore();
  return (username) =>
    sup.wallboard?.agents.find((a) => a.username === username)?.displayName || username;
}

/** A date input's value (YYYY-MM-DD of the local day, today at first) and that day's range. */
export function useDayPicker() {
  const today = new Date();
  const pad = (n: number) => String(n).padStart(2, '0');
  const day = ref(`${today.getFullYear()}-${pad(today.getMonth() + 1)}-${pad(today.getDate())}`);
  /** The picked local day as dayRange gives it. */
  const range = () => {
    const [y, m, d] = day.value.split('-').map(Number);
    return dayRange(new Date(y ?? 1970, (m ?? 1) - 1, d ?? 1));
  };
  return { day, range };
}
