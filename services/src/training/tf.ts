// The one place that sets up TensorFlow.js: the pure-JavaScript CPU backend (no native download, same
// results on every machine) and production mode (no debug checks, no "install tfjs-node" banner on stderr).
import * as tf from '@tensorflow/tfjs';

let ready: Promise<typeof tf> | undefined;

export function tensorflow(): Promise<typeof tf> {
  ready ??= (async () => {
    tf.enableProdMode();
    await tf.setBackend('cpu');
    await tf.ready();
    return tf;
  })();
  return ready;
}

export type Tf = typeof tf;
