import { useTranslationRef } from '@backstage/core-plugin-api/alpha';
import { MAX_QUESTION_LENGTH } from '@kubechart/plugin-assistant-common';
import Box from '@material-ui/core/Box';
import Button from '@material-ui/core/Button';
import TextField from '@material-ui/core/TextField';
import Typography from '@material-ui/core/Typography';
import { FormEvent, useState } from 'react';
import { useAssistant } from '../../hooks/useAssistant';
import { assistantTranslationRef } from '../../translation';
import { TurnView } from './TurnView';

/** Props of {@link AssistantWidget}. @public */
export type AssistantWidgetProps = {
  /** Scope questions to this entity's workloads, e.g. `component:default/checkout`. */
  entityRef?: string;
};

/**
 * Ask a question, see the kubectl command it becomes, and run it.
 *
 * @public
 */
export function AssistantWidget(props: AssistantWidgetProps) {
  const { t } = useTranslationRef(assistantTranslationRef);
  const { turns, asking, ask, run } = useAssistant(props.entityRef);
  const [question, setQuestion] = useState('');

  const submit = (e: FormEvent) => {
    e.preventDefault();
    const text = question.trim();
    if (!text || asking) return;
    setQuestion('');
    ask(text);
  };

  return (
    <Box>
      {turns.length === 0 && (
        <Typography variant="body2" color="textSecondary" paragraph>
          {t('empty')}
        </Typography>
      )}
      {turns.map(turn => (
        <TurnView
          key={turn.key}
          turn={turn}
          onRun={confirmation => run(turn, confirmation)}
        />
      ))}
      <form onSubmit={submit}>
        <Box display="flex" alignItems="flex-start" style={{ gap: 8 }}>
          <TextField
            fullWidth
            size="small"
            variant="outlined"
            placeholder={t('placeholder')}
            value={question}
            onChange={e => setQuestion(e.target.value)}
            inputProps={{
              maxLength: MAX_QUESTION_LENGTH,
              'aria-label': t('title'),
            }}
          />
          <Button
            type="submit"
            variant="contained"
            color="primary"
            disabled={asking || !question.trim()}
          >
            {t('ask')}
          </Button>
        </Box>
      </form>
    </Box>
  );
}
