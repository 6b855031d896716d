// Why a raw message is refused: the reason becomes its dead-letter subject's last token.
/**
 * size, subject, value (not a finite number, malformed JSON), epoch (before 1970 or after 9999), range
 * (physically impossible, bounds.ts); `future` is the stream job's: a reading too far ahead of the event
 * time that no other reading agreed with (streaming/windows.ts); control (a retire notice beyond its bounds).
 */
export type WireErrorReason = 'size' | 'subject' | 'value' | 'epoch' | 'range' | 'future' | 'control';

export class WireError extends Error {
  override name = 'WireError';
  constructor(
    readonly reason: WireErrorReason,
    message: string,
  ) {
    super(message);
  }
}
