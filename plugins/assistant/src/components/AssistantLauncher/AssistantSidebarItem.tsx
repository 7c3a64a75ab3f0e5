import { SidebarItem } from '@backstage/core-components';
import { useTranslationRef } from '@backstage/core-plugin-api/alpha';
import ChatIcon from '@material-ui/icons/Chat';
import { useState } from 'react';
import { assistantTranslationRef } from '../../translation';
import { AssistantDialog } from './AssistantDialog';

/**
 * A sidebar item that opens the assistant in a dialog over the current page, for the app's
 * sidebar (like the notifications item). Nothing floats over page content.
 *
 * @public
 */
export function AssistantSidebarItem() {
  const { t } = useTranslationRef(assistantTranslationRef);
  const [open, setOpen] = useState(false);
  return (
    <>
      <SidebarItem
        icon={ChatIcon}
        text={t('sidebarItem')}
        onClick={() => setOpen(true)}
      />
      <AssistantDialog open={open} onClose={() => setOpen(false)} />
    </>
  );
}
