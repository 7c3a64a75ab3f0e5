import Table from '@material-ui/core/Table';
import TableBody from '@material-ui/core/TableBody';
import TableCell from '@material-ui/core/TableCell';
import TableHead from '@material-ui/core/TableHead';
import TableRow from '@material-ui/core/TableRow';
import { useTranslationRef } from '@backstage/frontend-plugin-api';
import type { DriftObject } from '@kubechart/plugin-kubechart-common';
import { formatTimestamp } from '../../lib/format';
import { kubechartTranslationRef } from '../../translation';
import {
  HiddenCharactersWarning,
  VisibleText,
  countHidden,
} from '../shared/visibleText';

/** A value too long for the record, which shows its size instead (`{ notShown: 'value of N bytes' }`). */
function notShown(value: unknown): string | undefined {
  if (!value || typeof value !== 'object' || Array.isArray(value))
    return undefined;
  const keys = Object.keys(value);
  const text = (value as { notShown?: unknown }).notShown;
  return keys.length === 1 && typeof text === 'string' ? text : undefined;
}

function show(
  value: unknown,
  absent: string,
  tooLong: (what: string) => string,
): string {
  if (value === undefined) return absent;
  const size = notShown(value);
  if (size !== undefined) return tooLong(size);
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/**
 * The field-level diff of drifted objects: path, applied value, live value, who changed it. A field
 * another manager added shows who set it, not its value.
 */
export function DriftFieldsTable(props: { objects: DriftObject[] }) {
  const { t } = useTranslationRef(kubechartTranslationRef);
  const absent = t('drift.absent');
  const tooLong = (what: string) => t('drift.valueNotShown', { what });
  // Live values and managers are written by whoever can update the object (a manager is any
  // string a client names): their hidden characters are marked, and counted here.
  const hidden = countHidden(
    ...props.objects.flatMap(o =>
      o.state === 'changed'
        ? o.fields.flatMap(f => [
            f.path,
            f.added ? undefined : show(f.expected, absent, tooLong),
            f.added ? undefined : show(f.actual, absent, tooLong),
            f.manager,
          ])
        : [],
    ),
  );
  return (
    <>
      <HiddenCharactersWarning count={hidden} />
      <Table size="small" aria-label={t('drift.title')}>
        <TableHead>
          <TableRow>
            <TableCell>{t('drift.columns.object')}</TableCell>
            <TableCell>{t('drift.columns.path')}</TableCell>
            <TableCell>{t('drift.columns.applied')}</TableCell>
            <TableCell>{t('drift.columns.live')}</TableCell>
            <TableCell>{t('drift.columns.manager')}</TableCell>
          </TableRow>
        </TableHead>
        <TableBody>
          {props.objects.flatMap(o => {
            const name = `${o.kind} ${o.namespace ? `${o.namespace}/` : ''}${
              o.name
            }`;
            if (o.state === 'deleting') {
              // Marked for deletion and still answered: held by its finalizers, or in its grace period.
              const time = formatTimestamp(o.deletion?.timestamp);
              const finalizers = o.deletion?.finalizers ?? [];
              return [
                <TableRow key={`${name}:deleting`}>
                  <TableCell>{name}</TableCell>
                  <TableCell colSpan={4}>
                    {finalizers.length
                      ? t('drift.deletingHeld', {
                          time,
                          finalizers: finalizers.join(', '),
                        })
                      : t('drift.deletingGrace', { time })}
                  </TableCell>
                </TableRow>,
              ];
            }
            if (o.state === 'missing') {
              return [
                <TableRow key={`${name}:missing`}>
                  <TableCell>{name}</TableCell>
                  <TableCell colSpan={4}>{t('drift.missing')}</TableCell>
                </TableRow>,
              ];
            }
            return o.fields.map(f => (
              <TableRow key={`${name}:${f.path}`}>
                <TableCell>{name}</TableCell>
                <TableCell>
                  <code>
                    <VisibleText text={f.path} />
                  </code>
                </TableCell>
                <TableCell>
                  <code>
                    {f.added ? (
                      t('drift.notSet')
                    ) : (
                      <VisibleText text={show(f.expected, absent, tooLong)} />
                    )}
                  </code>
                </TableCell>
                <TableCell>
                  {/* A field another manager added: who set it, never its value (it may hold a secret). */}
                  {f.added ? (
                    <VisibleText
                      text={t('drift.addedBy', {
                        manager: f.manager ?? t('drift.unknownManager'),
                      })}
                    />
                  ) : (
                    <code>
                      <VisibleText text={show(f.actual, absent, tooLong)} />
                    </code>
                  )}
                </TableCell>
                <TableCell>
                  {f.manager ? (
                    <VisibleText text={f.manager} />
                  ) : (
                    t('drift.byNobody')
                  )}
                  {f.changedAt ? ` (${formatTimestamp(f.changedAt)})` : ''}
                </TableCell>
              </TableRow>
            ));
          })}
        </TableBody>
      </Table>
    </>
  );
}
