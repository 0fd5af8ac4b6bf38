// The one-line text of a job failure: says only what is true for its failure code, and what to do about it.
// No vscode here (unit-tested in plain Node).

/** What the user is told after the failure's own message (code: a StoreError code, OUT_OF_MEMORY, or none). */
export function failureAdvice(code: string | undefined): string {
  switch (code) {
    case 'NO_SPACE':
      return 'Free some disk space, then Retry; the terms stored so far are kept.';
    case 'READ_ONLY':
      return "The state directory cannot be written: make it writable (or copy the state directory somewhere writable), then Retry.";
    case 'IO_ERROR':
      return 'The disk reported an error: check it and copy the state directory somewhere safe before you Retry.';
    case 'CORRUPT':
      return 'Part of the stored state is damaged: copy the state directory somewhere safe before you Retry (a retry sets the damaged part aside and computes it again).';
    case 'OUT_OF_MEMORY':
      return 'Raise the setting tangentNumbers.workerMemoryLimitMb (or lower the count), then Retry; the stored terms are intact.';
    case 'LOCKED':
      return 'Another process writes this job; the stored terms are intact.';
    case undefined:
    case '':
      return '';
    default:
      return 'The stored terms are intact.';
  }
}

/** "Tangent Numbers: <message>. <advice>" (the message's own final period is not doubled). */
export function failureText(message: string, code: string | undefined): string {
  const advice = failureAdvice(code);
  const m = message.replace(/[.\s]+$/, '');
  return `Tangent Numbers: ${m}.${advice ? ` ${advice}` : ''}`;
}
