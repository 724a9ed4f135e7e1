import { ref } from 'vue';
import { ApiError } from '../backend';

/**
 * Runs screen actions so that a failure becomes a stable error code (for the translated message) and
 * the server's own words (shown small beside it), instead of an unhandled rejection.
 */
export function useGuard() {
  const errorCode = ref<string | null>(null);
  const errorMessage = ref('');
  async function guard(action: () => Promise<unknown>) {
    errorCode.value = null;
    errorMessage.value = '';
    try {
      await action();
    } catch (e) {
      errorCode.value = e instanceof ApiError ? e.code : 'unknown_error';
      errorMessage.value = e instanceof Error ? e.message : '';
    }
  }
  return { errorCode, errorMessage, guard };
}
