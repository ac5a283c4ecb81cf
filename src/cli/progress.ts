import { SingleBar } from 'cli-progress';

export interface Progress {
  update(done: number, total: number): void;
  stop(): void;
}

/** A progress bar on stderr, only when stderr is a terminal and the user did not ask for quiet. */
export function startProgress(quiet: boolean | undefined, stream: NodeJS.WriteStream = process.stderr): Progress {
  if (quiet || !stream.isTTY) return { update() {}, stop() {} };
  const bar = new SingleBar(
    {
      stream,
      format: 'comparing objects [{bar}] {value}/{total} | {percentage}% | time left {eta_formatted}',
      hideCursor: true,
      clearOnComplete: false,
      stopOnComplete: true,
      etaBuffer: 200,
    },
  );
  let started = false;
  let currentTotal = 0;
  return {
    update(done, total) {
      if (!started) {
        bar.start(total, 0);
        started = true;
      } else if (total !== currentTotal) bar.setTotal(total);
      currentTotal = total;
      bar.update(done);
    },
    stop() {
      if (started) bar.stop();
    },
  };
}
