import { identityApiRef, useApi } from '@backstage/core-plugin-api';
import { useTranslationRef } from '@backstage/core-plugin-api/alpha';
import ButtonBase from '@material-ui/core/ButtonBase';
import { makeStyles } from '@material-ui/core/styles';
import ChatIcon from '@material-ui/icons/Chat';
import { useState } from 'react';
import useAsync from 'react-use/esm/useAsync';
import { assistantTranslationRef } from '../../translation';
import { AssistantDialog } from './AssistantDialog';

/** Width of the tab: it stays inside the page's content padding (24 px). */
const TAB_WIDTH = 20;

const useStyles = makeStyles(theme => ({
  // A slim tab on the right edge, in the page padding: it covers neither the primary actions in the
  // bottom-right corner nor the right edge of tables (star column, pagination).
  tab: {
    position: 'fixed',
    right: 0,
    top: '40%',
    width: TAB_WIDTH,
    padding: theme.spacing(1, 0),
    borderTopLeftRadius: theme.shape.borderRadius,
    borderBottomLeftRadius: theme.shape.borderRadius,
    backgroundColor: theme.palette.primary.main,
    color: theme.palette.primary.contrastText,
    zIndex: theme.zIndex.speedDial,
    boxShadow: theme.shadows[2],
    '& svg': { fontSize: 16 },
  },
}));

/**
 * A slim tab on the right edge of every page that opens the assistant in a dialog. Rendered only
 * once the user has signed in (never on the sign-in page).
 *
 * Apps with their own sidebar should prefer {@link AssistantSidebarItem}; this launcher is for apps
 * that cannot change their navigation.
 *
 * @public
 */
export function AssistantLauncher() {
  const classes = useStyles();
  const { t } = useTranslationRef(assistantTranslationRef);
  const identityApi = useApi(identityApiRef);
  const [open, setOpen] = useState(false);
  // The app's identity resolves only after sign-in.
  const signedIn = useAsync(
    () => identityApi.getBackstageIdentity(),
    [identityApi],
  );
  if (!signedIn.value) {
    return null;
  }
  return (
    <>
      <ButtonBase
        className={classes.tab}
        aria-label={t('launcher')}
        title={t('launcher')}
        onClick={() => setOpen(true)}
      >
        <ChatIcon />
      </ButtonBase>
      <AssistantDialog open={open} onClose={() => setOpen(false)} />
    </>
  );
}
