// The HDFS of the hdfs tests: Hadoop's MiniDFSCluster (one namenode, or two in HA, and one
// datanode, all in this JVM) with WebHDFS, every server on 127.0.0.1 on a port of the kernel's
// choosing. minidfs.sh compiles and starts it:
//
//   java ... MiniDfs [--ha] [--ls-limit N] DIR
//
// DIR holds the cluster's storage; --ls-limit sets dfs.ls.limit (entries a listing batch). Once
// the cluster is up and each namenode's WebHDFS has answered a request, stdout says where it
// is, one fact a line, then `ready`:
//
//   rpc INDEX ID 127.0.0.1:PORT                    each namenode's RPC address
//   webhdfs INDEX ID http://127.0.0.1:PORT STATE   its WebHDFS (STATE: active, standby)
//   nameservice NS ID,ID                           HA only: the nameservice, its namenodes
//   ready
//
// INDEX is MiniDFSCluster's index of the namenode (0, 1); ID its namenode ID in the
// configuration (dfs.ha.namenodes.NS), "nn0" without HA. A failure to start is one line,
// `error MESSAGE`, and exit status 1. Then it reads commands from stdin, one a line, and
// answers each with lines ending in `ok` or `error MESSAGE`:
//
//   status          `nn ID STATE` for each namenode (STATE down when stopped)
//   failover        (HA) the active namenode becomes standby and the next one up active:
//                   `active ID`; with no active namenode, the first one up becomes active
//   stop-nn N       shuts namenode N (an index or an ID) down
//   restart-nn N    starts it again on the same ports (a standby in HA): `nn ID STATE`
//
// The end of its input shuts the cluster down and exits 0; so does SIGTERM (a shutdown hook).
import java.io.BufferedOutputStream;
import java.io.BufferedReader;
import java.io.File;
import java.io.FileOutputStream;
import java.io.FileDescriptor;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.net.HttpURLConnection;
import java.net.InetSocketAddress;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.logging.Level;
import java.util.logging.Logger;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.hdfs.MiniDFSCluster;
import org.apache.hadoop.hdfs.MiniDFSNNTopology;
import org.apache.hadoop.hdfs.server.namenode.NameNode;
import org.apache.hadoop.util.ShutdownHookManager;

public final class MiniDfs {
  private static PrintStream out;
  private static MiniDFSCluster cluster;
  private static boolean ha;
  private static int namenodes;
  private static boolean down;

  public static void main(String[] args) throws Exception {
    // The protocol has stdout to itself: whatever else prints there goes to stderr (the log).
    // Buffered, so that each line reaches stdout in one write.
    out = new PrintStream(new BufferedOutputStream(new FileOutputStream(FileDescriptor.out)),
        true, "UTF-8");
    System.setOut(System.err);
    // Jersey logs through java.util.logging: its start-up warnings about WebHDFS's resource
    // methods are noise.
    Logger.getLogger("").setLevel(Level.SEVERE);

    String dir = null;
    int lsLimit = -1;
    for (int i = 0; i < args.length; i++) {
      if (args[i].equals("--ha")) {
        ha = true;
      } else if (args[i].equals("--ls-limit") && i + 1 < args.length) {
        lsLimit = Integer.parseInt(args[++i]);
      } else if (!args[i].startsWith("--") && dir == null) {
        dir = args[i];
      } else {
        fail("usage: MiniDfs [--ha] [--ls-limit N] DIR");
      }
    }
    if (dir == null) fail("usage: MiniDfs [--ha] [--ls-limit N] DIR");

    Configuration conf = new Configuration();
    conf.setBoolean("dfs.webhdfs.enabled", true);
    conf.setBoolean("dfs.permissions.enabled", false);
    conf.setInt("dfs.replication", 1);
    conf.set("dfs.namenode.http-address", "127.0.0.1:0");
    conf.set("dfs.namenode.rpc-address", "127.0.0.1:0");
    conf.set("dfs.datanode.address", "127.0.0.1:0");
    conf.set("dfs.datanode.http.address", "127.0.0.1:0");
    conf.set("dfs.datanode.ipc.address", "127.0.0.1:0");
    conf.set("dfs.datanode.hostname", "127.0.0.1");
    // A restarted namenode leaves safe mode as soon as the datanode has reported, which it does
    // within a second (the heartbeat's interval; Hadoop's default is 3 s).
    conf.setInt("dfs.namenode.safemode.extension", 0);
    conf.setLong("dfs.heartbeat.interval", 1);
    if (lsLimit > 0) conf.setInt("dfs.ls.limit", lsLimit);

    MiniDFSCluster.Builder builder = new MiniDFSCluster.Builder(conf, new File(dir))
        .numDataNodes(1)
        .checkDataNodeAddrConfig(true);
    if (ha) {
      MiniDFSNNTopology topology = MiniDFSNNTopology.simpleHATopology();
      builder.nnTopology(topology);
      // As in a real cluster's configuration: fs.defaultFS names the nameservice, and clients
      // (the datanode's too) reach it through the failover proxy provider. With fs.defaultFS
      // set, a namenode of an HA nameservice sends the datanode the nameservice's name in its
      // redirects (namenoderpcaddress=NS), not its own address; the datanode then finds the
      // active namenode itself.
      String ns = topology.getNameservices().get(0).getId();
      conf.set("fs.defaultFS", "hdfs://" + ns);
      conf.set("dfs.client.failover.proxy.provider." + ns,
          "org.apache.hadoop.hdfs.server.namenode.ha.ConfiguredFailoverProxyProvider");
      // The datanode's client tries the namenodes in turn: no half-second pauses between
      // them (Hadoop's default base) in a test.
      conf.setInt("dfs.client.failover.sleep.base.millis", 20);
      conf.setInt("dfs.client.failover.sleep.max.millis", 200);
    }
    try {
      cluster = builder.build();
      namenodes = ha ? cluster.getNumNameNodes() : 1;
      if (ha) cluster.transitionToActive(0);
      cluster.waitActive();
    } catch (Throwable e) {
      fail(message(e));
    }
    // Before Hadoop's own hooks (the FileSystem cache's is 10), bounded.
    ShutdownHookManager.get().addShutdownHook(MiniDfs::shutdown, 100, 60, TimeUnit.SECONDS);

    // WebHDFS answers, and its first request (which sets Jersey up) is made here, not by a test.
    for (int i = 0; i < namenodes; i++) {
      try {
        checkWebHdfs(i);
      } catch (Throwable e) {
        fail(message(e));
      }
    }

    List<String> ids = new ArrayList<>();
    for (int i = 0; i < namenodes; i++) {
      NameNode nn = cluster.getNameNode(i);
      InetSocketAddress rpc = nn.getNameNodeAddress();
      InetSocketAddress http = nn.getHttpAddress();
      out.println("rpc " + i + " " + id(i) + " " + hostPort(rpc));
      out.println("webhdfs " + i + " " + id(i) + " http://" + hostPort(http) + " " + state(i));
      ids.add(id(i));
    }
    if (ha) {
      String ns = cluster.getConfiguration(0).get("dfs.nameservices");
      out.println("nameservice " + ns + " " + String.join(",", ids));
    }
    out.println("ready");

    BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    String line;
    while ((line = in.readLine()) != null) {
      line = line.trim();
      if (line.isEmpty()) continue;
      try {
        command(line.split("\\s+"));
        out.println("ok");
      } catch (Throwable e) {
        out.println("error " + message(e));
      }
    }
    shutdown();
    System.exit(0);
  }

  private static void command(String[] w) throws Exception {
    switch (w[0]) {
      case "status":
        for (int i = 0; i < namenodes; i++) out.println("nn " + id(i) + " " + state(i));
        break;
      case "failover": {
        if (!ha) throw new IllegalStateException("failover needs --ha");
        int from = -1;
        for (int i = 0; i < namenodes; i++) {
          if (cluster.isNameNodeUp(i) && cluster.getNameNode(i).isActiveState()) from = i;
        }
        int to = -1;
        for (int k = 1; k <= namenodes && to < 0; k++) {
          int i = (Math.max(from, 0) + k) % namenodes;
          if (i != from && cluster.isNameNodeUp(i)) to = i;
        }
        if (to < 0) throw new IllegalStateException("no other namenode is up");
        if (from >= 0) cluster.transitionToStandby(from);
        cluster.transitionToActive(to);
        out.println("active " + id(to));
        break;
      }
      case "stop-nn":
        cluster.shutdownNameNode(index(w));
        break;
      case "restart-nn": {
        int i = index(w);
        cluster.restartNameNode(i, true);
        out.println("nn " + id(i) + " " + state(i));
        break;
      }
      default:
        throw new IllegalArgumentException("unknown command " + w[0]);
    }
  }

  // GETFILESTATUS of / answers 200 at an active namenode, 403 (StandbyException) at a standby.
  private static void checkWebHdfs(int i) throws Exception {
    InetSocketAddress http = cluster.getNameNode(i).getHttpAddress();
    URL url = new URL("http://" + hostPort(http) + "/webhdfs/v1/?op=GETFILESTATUS&user.name=k8sha");
    HttpURLConnection c = (HttpURLConnection) url.openConnection();
    c.setConnectTimeout(10000);
    c.setReadTimeout(30000);
    int code = c.getResponseCode();
    InputStream body = code < 400 ? c.getInputStream() : c.getErrorStream();
    String text = body == null ? "" : new String(body.readAllBytes(), StandardCharsets.UTF_8);
    c.disconnect();
    int want = cluster.getNameNode(i).isActiveState() ? 200 : 403;
    if (code != want) {
      throw new IllegalStateException("WebHDFS of " + id(i) + " answers " + code + ", not " + want
          + ": " + text.substring(0, Math.min(text.length(), 300)));
    }
  }

  private static int index(String[] w) {
    if (w.length != 2) throw new IllegalArgumentException(w[0] + " takes a namenode: an index or an ID");
    for (int i = 0; i < namenodes; i++) {
      if (w[1].equals(id(i)) || w[1].equals(Integer.toString(i))) return i;
    }
    throw new IllegalArgumentException("no namenode " + w[1]);
  }

  private static String id(int i) {
    String id = ha ? cluster.getConfiguration(i).get("dfs.ha.namenode.id") : null;
    return id != null ? id : "nn" + i;
  }

  private static String state(int i) {
    if (!cluster.isNameNodeUp(i)) return "down";
    return cluster.getNameNode(i).getState().toLowerCase(Locale.ROOT);
  }

  private static String hostPort(InetSocketAddress a) {
    return a.getAddress().getHostAddress() + ":" + a.getPort();
  }

  private static synchronized void shutdown() {
    if (down || cluster == null) return;
    down = true;
    cluster.shutdown();
  }

  private static String message(Throwable e) {
    String m = e.getClass().getSimpleName() + ": " + e.getMessage();
    return m.replace('\n', ' ');
  }

  private static void fail(String message) {
    out.println("error " + message.replace('\n', ' '));
    System.exit(1);
  }
}
