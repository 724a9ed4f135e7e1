import { ref } from 'vue';
import { useI18n } from 'vue-i18n';
import { ApiError, applySettings, type Settings, type SettingsUpdate } from '../backend';

/**
 * Saving a part of the settings, as every Settings form does it: `saving` while the request runs,
 * `status` `applying` once the file is written and `applied` once the server runs on the change,
 * `error` in words (the code translated, then the server's own message; a reload that takes too
 * long says so). `save` answers the settings in force, or null when it failed.
 */
export function useSettingsSave() {
  const { t } = useI18n();
  const saving = ref(false);
  const status = ref<'idle' | 'applying' | 'applied'>('idle');
  const error = ref('');

  async function save(change: SettingsUpdate): Promise<Settings | null> {
    error.value = '';
    saving.value = true;
    try {
      const now = await applySettings(change, { onSaved: () => (status.value = 'applying') });
      status.value = 'applied';
      return now;
    } catch (e) {
      const code = e instanceof ApiError ? e.code : 'unknown_error';
      const timedOut = e instanceof ApiError && e.code === 'unavailable' && e.status === 0;
      error.value = timedOut ? t('shopSettings.slow') : `${t(`errors.${code}`, t('errors.unknown_error'))} ${e instanceof Error ? e.message : ''}`.trim();
      status.value = 'idle';
      return null;
    } finally {
      saving.value = false;
    }
  }

  return { saving, status, error, save };
}
