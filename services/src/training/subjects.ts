// The subjects train and predict use, under a root token (`smartmeter` in production; tests use their
// own root so that parallel runs never hear each other).
import { SUBJECTS, underRoot } from '../wire/subjects';

const ROOT = /^[A-Za-z0-9_-]+$/;

export interface ModelSubjects {
  root: string;
  forecast: string;
  prediction: string;
  predict: string;
  modelUpdated: string;
}

export function modelSubjects(root = 'smartmeter'): ModelSubjects {
  if (!ROOT.test(root)) throw new Error(`subject root must be one subject token, got "${root}"`);
  const under = (subject: string) => underRoot(root, subject);
  return {
    root,
    forecast: under(SUBJECTS.forecast),
    prediction: under(SUBJECTS.prediction),
    predict: under(SUBJECTS.predict),
    modelUpdated: under(SUBJECTS.modelUpdated),
  };
}
