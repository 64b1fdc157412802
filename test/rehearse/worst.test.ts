/** The report's "worst measured" column follows the direction of the metric's condition. */
import { worstValue } from '../../src/release/index.js';

test('upper bounds: the highest value is the worst', () => {
  expect(worstValue('< 1%', [0.002, 0.009, 0.004])).toBe(0.009);
  expect(worstValue('<= baseline * 1.5 + 0.1%', [0.002, 0.009], 0.003)).toBe(0.009);
});

test('lower bounds: the lowest value is the worst', () => {
  expect(worstValue('> 99%', [0.999, 0.97, 0.995])).toBe(0.97);
  expect(worstValue('>= 0.995', [0.999, 0.996])).toBe(0.996);
});

test('equality: the farthest from the threshold; inequality: the closest', () => {
  expect(worstValue('== 0', [0, -3, 2], 0)).toBe(-3);
  expect(worstValue('!= 0', [5, 1, -2], 0)).toBe(1);
});

test('no values: null', () => {
  expect(worstValue('< 1%', [])).toBeNull();
});
