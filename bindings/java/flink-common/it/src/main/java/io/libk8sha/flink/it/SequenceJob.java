package io.libk8sha.flink.it;

import java.io.FileWriter;
import java.io.IOException;
import java.io.Writer;
import java.util.List;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.functions.RichMapFunction;
import org.apache.flink.api.common.state.ListState;
import org.apache.flink.api.common.state.ListStateDescriptor;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.java.tuple.Tuple2;
import org.apache.flink.runtime.state.FunctionInitializationContext;
import org.apache.flink.runtime.state.FunctionSnapshotContext;
import org.apache.flink.streaming.api.checkpoint.CheckpointedFunction;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;

/**
 * The job the failover tests run: a source counting 0, 1, 2, ... (its position in checkpointed
 * state), keyed by n % 4, a running sum per key in keyed state, and a sink appending
 * "key n sum" lines to a file. Whatever happens to the JobManagers, every line must satisfy
 * sum = the sum of all m <= n with m % 4 == key (the state continues), and after a failover the
 * source resumes from a checkpointed position, never from 0. (Shared by every Flink line; each
 * line's it module supplies {@link Legacy}, the source and sink bases in that line's packages.)
 *   SequenceJob OUTPUT_FILE [ELEMENTS_PER_SECOND]
 */
public final class SequenceJob {
  private SequenceJob() {}

  public static void main(String[] args) throws Exception {
    String out = args[0];
    int rate = args.length > 1 ? Integer.parseInt(args[1]) : 200;
    Configuration conf = new Configuration();
    conf.setString("restart-strategy.type", "fixed-delay");
    conf.setString("restart-strategy.fixed-delay.attempts", String.valueOf(Integer.MAX_VALUE));
    conf.setString("restart-strategy.fixed-delay.delay", "200 ms");
    StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(conf);
    env.enableCheckpointing(200);
    env.setParallelism(1);
    env.addSource(new Counter(rate)).name("counter")
        .keyBy(t -> t.f0)
        .map(new Sum()).name("sum")
        .addSink(new Lines(out)).name("lines");
    env.execute("libk8sha-sequence");
  }

  /** Emits (n % 4, n) for n = 0, 1, 2, ..., `rate` per second; n is checkpointed. */
  static final class Counter extends Legacy.Source<Tuple2<Integer, Long>>
      implements CheckpointedFunction {
    private final int rate;
    private volatile boolean running = true;
    private long next;
    private transient ListState<Long> position;

    Counter(int rate) {
      this.rate = rate;
    }

    @Override
    public void run(SourceContext<Tuple2<Integer, Long>> ctx) throws Exception {
      long pause = Math.max(1, 1000 / rate);
      while (running) {
        synchronized (ctx.getCheckpointLock()) {
          ctx.collect(Tuple2.of((int) (next % 4), next));
          next++;
        }
        Thread.sleep(pause);
      }
    }

    @Override
    public void cancel() {
      running = false;
    }

    @Override
    public void snapshotState(FunctionSnapshotContext context) throws Exception {
      position.update(List.of(next));
    }

    @Override
    public void initializeState(FunctionInitializationContext context) throws Exception {
      position = context.getOperatorStateStore()
          .getListState(new ListStateDescriptor<>("position", Types.LONG));
      for (Long p : position.get()) {
        next = p;
      }
    }
  }

  /** (key, n) to "key n sum", the sum per key in keyed state. */
  static final class Sum extends RichMapFunction<Tuple2<Integer, Long>, String> {
    private transient ValueState<Long> sum;

    @Override
    public void open(OpenContext context) {
      sum = getRuntimeContext().getState(new ValueStateDescriptor<>("sum", Types.LONG));
    }

    @Override
    public String map(Tuple2<Integer, Long> in) throws Exception {
      Long s = sum.value();
      long now = (s == null ? 0 : s) + in.f1;
      sum.update(now);
      return in.f0 + " " + in.f1 + " " + now;
    }
  }

  /** Appends each line to the output file, flushed at once. */
  static final class Lines extends Legacy.Sink<String> {
    private final String file;
    private transient Writer out;

    Lines(String file) {
      this.file = file;
    }

    @Override
    public void open(OpenContext context) throws IOException {
      out = new FileWriter(file, true);
    }

    @Override
    public void invoke(String line, Context context) throws IOException {
      out.write(line + "\n");
      out.flush();
    }

    @Override
    public void close() throws IOException {
      if (out != null) {
        out.close();
      }
    }
  }
}
