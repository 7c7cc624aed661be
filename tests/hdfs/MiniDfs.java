// The HDFS of the hdfs tests: Hadoop's MiniDFSCluster (one namenode, or two in HA, and one
// datanode, all in this JVM) with WebHDFS, every server on 127.0.0.1 on a port of the kernel's
// choosing. minidfs.sh compiles and starts it:
//
//   java ... MiniDfs [--ha | --kerberos KRBDIR | --httpfs HTTPFSDIR] [--ls-limit N]
//                    [--set KEY=VALUE]... DIR
//
// DIR holds the cluster's storage; --ls-limit sets dfs.ls.limit (entries a listing batch); --set
// sets any other property of the cluster (after the launcher's own).
// --kerberos KRBDIR: a Kerberos-secured cluster (one namenode) and its KDC, Hadoop's MiniKdc,
// started first, its files in KRBDIR: realm EXAMPLE.COM, the KDC on localhost (TCP), keytabs
// hdfs.keytab (hdfs/localhost and HTTP/localhost: the servers' RPC and SPNEGO principals) and
// client.keytab (client, alone: GSS-API takes a client keytab's first principal). WebHDFS then
// takes SPNEGO (or a delegation token), not user.name, and every server is on localhost, named
// so: a client's SPNEGO target is HTTP/<the URL's host>, which has to be HTTP/localhost. Plain HTTP and unprivileged ports
// (Hadoop's ignore.secure.ports.for.testing), block access tokens and SASL on data transfer; a
// namenode's redirect to the datanode carries a delegation token.
// --httpfs HTTPFSDIR: one namenode, and HttpFS (Hadoop's REST gateway, org.apache.hadoop.fs.http
// .server.HttpFSServerWebServer) in this JVM too, on 127.0.0.1 on a port of the kernel's choosing,
// in front of the cluster: its home, configuration (httpfs-site.xml; core-site.xml whose
// fs.defaultFS is the cluster), log and temp folders in HTTPFSDIR. HttpFS acts on HDFS as this
// JVM's user impersonating the request's user.name (hadoop.proxyuser.<that user>.* of the
// cluster, and httpfs.proxyuser.<that user>.* of HttpFS, allow it), simple authentication only.
//
// Once the cluster is up and each namenode's WebHDFS (and HttpFS) has answered a request, stdout
// says where it is, one fact a line, then `ready`:
//
//   rpc INDEX ID 127.0.0.1:PORT                    each namenode's RPC address
//   webhdfs INDEX ID http://127.0.0.1:PORT STATE   its WebHDFS (STATE: active, standby)
//   nameservice NS ID,ID                           HA only: the nameservice, its namenodes
//   realm REALM                                    --kerberos only: the realm,
//   krb5conf KRBDIR/krb5.conf                      the KDC's client configuration,
//   clientkeytab KRBDIR/client.keytab              the client's keytab,
//   principal client@REALM                         its principal,
//   nnprincipal hdfs/localhost@REALM               the namenode's (dfs.namenode.kerberos.principal)
//   httpfs http://127.0.0.1:PORT                   --httpfs only: HttpFS (its REST API under
//                                                  /webhdfs/v1, as WebHDFS's)
//   ready
//
// (with --kerberos, localhost instead of 127.0.0.1). INDEX is MiniDFSCluster's index of the
// namenode (0, 1); ID its namenode ID in the configuration (dfs.ha.namenodes.NS), "nn0" without
// HA. A failure to start is one line, `error MESSAGE`, and exit status 1. Then it reads
// commands from stdin, one a line, and answers each with lines ending in `ok` or `error MESSAGE`:
//
//   status          `nn ID STATE` for each namenode (STATE down when stopped)
//   failover        (HA) the active namenode becomes standby and the next one up active:
//                   `active ID`; with no active namenode, the first one up becomes active
//   stop-nn N       shuts namenode N (an index or an ID) down
//   restart-nn N    starts it again on the same ports (a standby in HA): `nn ID STATE`
//
// The end of its input shuts HttpFS, the cluster (and the KDC) down and exits 0; so does SIGTERM
// (a shutdown hook).
import java.io.BufferedOutputStream;
import java.io.BufferedReader;
import java.io.File;
import java.io.FileOutputStream;
import java.io.FileDescriptor;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.lang.reflect.Constructor;
import java.net.HttpURLConnection;
import java.net.InetSocketAddress;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.StandardCopyOption;
import java.security.PrivilegedExceptionAction;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import java.util.logging.Level;
import java.util.logging.Logger;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.http.server.HttpFSServerWebServer;
import org.apache.hadoop.hdfs.MiniDFSCluster;
import org.apache.hadoop.hdfs.MiniDFSNNTopology;
import org.apache.hadoop.hdfs.server.namenode.NameNode;
import org.apache.hadoop.minikdc.MiniKdc;
import org.apache.hadoop.security.UserGroupInformation;
import org.apache.hadoop.security.authentication.client.AuthenticatedURL;
import org.apache.hadoop.util.ShutdownHookManager;

public final class MiniDfs {
  private static PrintStream out;
  private static MiniDFSCluster cluster;
  private static boolean ha;
  private static int namenodes;
  private static boolean down;
  private static Kerberos kerberos; // --kerberos
  private static HttpFs httpfs; // --httpfs
  // The servers' host: an address, or with Kerberos the name their principals are of.
  private static String host = "127.0.0.1";

  public static void main(String[] args) throws Exception {
    // The protocol has stdout to itself: whatever else prints there goes to stderr (the log).
    // Buffered, so that each line reaches stdout in one write.
    out = new PrintStream(new BufferedOutputStream(new FileOutputStream(FileDescriptor.out)),
        true, "UTF-8");
    System.setOut(System.err);
    // Jersey logs through java.util.logging: its start-up warnings about WebHDFS's resource
    // methods are noise.
    Logger.getLogger("").setLevel(Level.SEVERE);

    String usage = "usage: MiniDfs [--ha | --kerberos KRBDIR | --httpfs HTTPFSDIR] [--ls-limit N]"
        + " [--set KEY=VALUE]... DIR";
    java.util.List<String> sets = new java.util.ArrayList<>();
    String dir = null;
    String krbDir = null;
    String httpfsDir = null;
    int lsLimit = -1;
    for (int i = 0; i < args.length; i++) {
      if (args[i].equals("--ha")) {
        ha = true;
      } else if (args[i].equals("--kerberos") && i + 1 < args.length) {
        krbDir = args[++i];
      } else if (args[i].equals("--httpfs") && i + 1 < args.length) {
        httpfsDir = args[++i];
      } else if (args[i].equals("--set") && i + 1 < args.length && args[i + 1].indexOf('=') > 0) {
        sets.add(args[++i]);
      } else if (args[i].equals("--ls-limit") && i + 1 < args.length) {
        lsLimit = Integer.parseInt(args[++i]);
      } else if (!args[i].startsWith("--") && dir == null) {
        dir = args[i];
      } else {
        fail(usage);
      }
    }
    if (dir == null) fail(usage);
    if (ha && krbDir != null) fail(usage + " (--kerberos is of one namenode, not --ha)");
    if (httpfsDir != null && (ha || krbDir != null)) {
      fail(usage + " (--httpfs is of one namenode and simple authentication: not --ha, --kerberos)");
    }

    // The KDC first: MiniKdc.start() writes its krb5.conf and points this JVM's Kerberos at it
    // (java.security.krb5.conf), which has to happen before anything reads Kerberos settings.
    if (krbDir != null) {
      try {
        kerberos = Kerberos.start(new File(krbDir).getAbsoluteFile());
      } catch (Throwable e) {
        fail("the KDC: " + message(e));
      }
      host = "localhost";
    }

    Configuration conf = new Configuration();
    conf.setBoolean("dfs.webhdfs.enabled", true);
    conf.setBoolean("dfs.permissions.enabled", false);
    conf.setInt("dfs.replication", 1);
    conf.set("dfs.namenode.http-address", host + ":0");
    conf.set("dfs.namenode.rpc-address", host + ":0");
    conf.set("dfs.datanode.address", host + ":0");
    conf.set("dfs.datanode.http.address", host + ":0");
    conf.set("dfs.datanode.ipc.address", host + ":0");
    conf.set("dfs.datanode.hostname", host);
    // A restarted namenode leaves safe mode as soon as the datanode has reported, which it does
    // within a second (the heartbeat's interval; Hadoop's default is 3 s).
    conf.setInt("dfs.namenode.safemode.extension", 0);
    conf.setLong("dfs.heartbeat.interval", 1);
    if (lsLimit > 0) conf.setInt("dfs.ls.limit", lsLimit);
    for (String kv : sets) conf.set(kv.substring(0, kv.indexOf('=')), kv.substring(kv.indexOf('=') + 1));
    if (kerberos != null) kerberos.secure(conf);
    if (httpfsDir != null) HttpFs.allowProxy(conf);

    // checkDataNodeHostConfig: else dfs.datanode.hostname is 127.0.0.1, whatever it says.
    MiniDFSCluster.Builder builder = new MiniDFSCluster.Builder(conf, new File(dir))
        .numDataNodes(1)
        .checkDataNodeAddrConfig(true)
        .checkDataNodeHostConfig(true);
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
      if (kerberos != null) UserGroupInformation.setConfiguration(conf);
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

    // HttpFS, once the cluster answers; its first request made here too.
    if (httpfsDir != null) {
      try {
        httpfs = HttpFs.start(new File(httpfsDir).getAbsoluteFile(),
            "hdfs://" + hostPort(cluster.getNameNode(0).getNameNodeAddress()));
      } catch (Throwable e) {
        fail("HttpFS: " + message(e));
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
    if (kerberos != null) {
      out.println("realm " + kerberos.realm);
      out.println("krb5conf " + kerberos.krb5conf);
      out.println("clientkeytab " + kerberos.clientKeytab);
      out.println("principal " + kerberos.clientPrincipal);
      out.println("nnprincipal " + kerberos.serverPrincipal);
    }
    if (httpfs != null) out.println("httpfs " + httpfs.url);
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
  // With Kerberos: 401 without SPNEGO, 200 with it, as the client (the whole SPNEGO path: the
  // KDC, the HTTP/localhost key, the mapping of the client's principal to a user).
  private static void checkWebHdfs(int i) throws Exception {
    InetSocketAddress http = cluster.getNameNode(i).getHttpAddress();
    String base = "http://" + hostPort(http) + "/webhdfs/v1/?op=GETFILESTATUS";
    int want = cluster.getNameNode(i).isActiveState() ? 200 : 403;
    if (kerberos == null) {
      URL url = new URL(base + "&user.name=k8sha");
      expectStatus(i, (HttpURLConnection) url.openConnection(), want);
      return;
    }
    expectStatus(i, (HttpURLConnection) new URL(base).openConnection(), 401);
    UserGroupInformation client = UserGroupInformation.loginUserFromKeytabAndReturnUGI(
        kerberos.clientPrincipal, kerberos.clientKeytab.getPath());
    client.doAs((PrivilegedExceptionAction<Void>) () -> {
      HttpURLConnection c =
          new AuthenticatedURL().openConnection(new URL(base), new AuthenticatedURL.Token());
      expectStatus(i, c, want);
      return null;
    });
  }

  private static void expectStatus(int i, HttpURLConnection c, int want) throws Exception {
    c.setConnectTimeout(10000);
    c.setReadTimeout(30000);
    int code = c.getResponseCode();
    InputStream body = code < 400 ? c.getInputStream() : c.getErrorStream();
    String text = body == null ? "" : new String(body.readAllBytes(), StandardCharsets.UTF_8);
    c.disconnect();
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
    return (kerberos != null ? host : a.getAddress().getHostAddress()) + ":" + a.getPort();
  }

  private static synchronized void shutdown() {
    if (down) return;
    down = true;
    if (httpfs != null) httpfs.stop();
    if (cluster != null) cluster.shutdown();
    if (kerberos != null) kerberos.kdc.stop();
  }

  // The KDC of --kerberos and what the cluster's configuration takes from it. A class of its
  // own, so that without --kerberos MiniKdc and Kerby are never loaded.
  private static final class Kerberos {
    final MiniKdc kdc;
    final String realm;
    final File krb5conf;
    final File serverKeytab;
    final File clientKeytab;
    final String serverPrincipal;
    final String httpPrincipal;
    final String clientPrincipal;

    private Kerberos(MiniKdc kdc, File dir) throws Exception {
      this.kdc = kdc;
      realm = kdc.getRealm();
      krb5conf = new File(dir, "krb5.conf");
      Files.copy(kdc.getKrb5conf().toPath(), krb5conf.toPath(),
          StandardCopyOption.REPLACE_EXISTING);
      serverKeytab = new File(dir, "hdfs.keytab");
      clientKeytab = new File(dir, "client.keytab");
      kdc.createPrincipal(serverKeytab, "hdfs/localhost", "HTTP/localhost");
      kdc.createPrincipal(clientKeytab, "client");
      serverPrincipal = "hdfs/localhost@" + realm;
      httpPrincipal = "HTTP/localhost@" + realm;
      clientPrincipal = "client@" + realm;
    }

    static Kerberos start(File dir) throws Exception {
      File work = new File(dir, "kdc");
      if (!work.isDirectory() && !work.mkdirs()) {
        throw new IllegalStateException("cannot make " + work);
      }
      Properties kdcConf = MiniKdc.createConf(); // realm EXAMPLE.COM, TCP, a free port
      kdcConf.setProperty(MiniKdc.KDC_BIND_ADDRESS, "localhost");
      MiniKdc kdc = new MiniKdc(kdcConf, work);
      kdc.start();
      try {
        return new Kerberos(kdc, dir);
      } catch (Throwable e) {
        kdc.stop();
        throw e;
      }
    }

    void secure(Configuration conf) {
      conf.set("hadoop.security.authentication", "kerberos");
      conf.setBoolean("hadoop.security.authorization", true);
      conf.set("dfs.namenode.kerberos.principal", serverPrincipal);
      conf.set("dfs.namenode.keytab.file", serverKeytab.getPath());
      conf.set("dfs.datanode.kerberos.principal", serverPrincipal);
      conf.set("dfs.datanode.keytab.file", serverKeytab.getPath());
      // The namenode's own SPNEGO (dfs.namenode.kerberos.internal.spnego.principal defaults to
      // it) and the filter in front of WebHDFS, which DFSUtil always installs and configures
      // from hadoop.http.authentication.*: core-default.xml's type there is simple, anonymous
      // allowed, and then every WebHDFS request is refused.
      conf.set("dfs.web.authentication.kerberos.principal", httpPrincipal);
      conf.set("dfs.web.authentication.kerberos.keytab", serverKeytab.getPath());
      conf.set("hadoop.http.authentication.type", "kerberos");
      conf.set("hadoop.http.authentication.kerberos.principal", httpPrincipal);
      conf.set("hadoop.http.authentication.kerberos.keytab", serverKeytab.getPath());
      conf.setBoolean("dfs.block.access.token.enable", true);
      // A secure datanode on unprivileged ports and plain HTTP: the test escape of Hadoop's
      // DataNode.checkSecureConfig. Data transfer authenticated with SASL, as a datanode without
      // privileged ports has it; without, MiniDFSCluster tries to bind privileged resources for
      // the datanode, fails and prints a harmless stack trace.
      conf.setBoolean("ignore.secure.ports.for.testing", true);
      conf.set("dfs.http.policy", "HTTP_ONLY");
      conf.set("dfs.data.transfer.protection", "authentication");
    }
  }

  // HttpFS of --httpfs. A class of its own, so that without --httpfs HttpFS is never loaded.
  private static final class HttpFs {
    final HttpFSServerWebServer server;
    final String url;

    private HttpFs(HttpFSServerWebServer server, String url) {
      this.server = server;
      this.url = url;
    }

    // HttpFS acts on HDFS as this JVM's (login) user, a proxy user of the request's user.name:
    // the namenode has to allow it, from anywhere, for anyone.
    static void allowProxy(Configuration conf) throws Exception {
      String user = UserGroupInformation.getLoginUser().getShortUserName();
      conf.set("hadoop.proxyuser." + user + ".hosts", "*");
      conf.set("hadoop.proxyuser." + user + ".groups", "*");
    }

    static HttpFs start(File dir, String defaultFs) throws Exception {
      File conf = new File(dir, "conf");
      File log = new File(dir, "log");
      File temp = new File(dir, "temp");
      for (File d : new File[] {conf, log, temp}) {
        if (!d.isDirectory() && !d.mkdirs()) throw new IllegalStateException("cannot make " + d);
      }
      // The server's own settings (HttpFSServerWebApp, the part behind the servlet) come from
      // httpfs.config.dir's httpfs-site.xml; the Hadoop configuration it reaches HDFS with
      // from httpfs.hadoop.config.dir's core-site.xml and hdfs-site.xml (the same folder here).
      // The system properties name its folders (${httpfs.config.dir} in httpfs-default.xml too).
      System.setProperty("httpfs.home.dir", dir.getPath());
      System.setProperty("httpfs.config.dir", conf.getPath());
      System.setProperty("httpfs.log.dir", log.getPath());
      System.setProperty("httpfs.temp.dir", temp.getPath());
      // (dfs.replication as the cluster's: HttpFS creates files with its own default, else 3)
      writeConf(new File(conf, "core-site.xml"), "fs.defaultFS", defaultFs);
      writeConf(new File(conf, "hdfs-site.xml"), "dfs.replication", "1");
      // httpfs.proxyuser.*: whom HttpFS lets a user act as (doas). In this one JVM they are the
      // namenode's as well: Hadoop's proxy-user rules are a static, and HttpFS's filter, starting
      // last, replaces the namenode's hadoop.proxyuser.* with them.
      String user = UserGroupInformation.getLoginUser().getShortUserName();
      writeConf(new File(conf, "httpfs-site.xml"),
          "httpfs.hadoop.config.dir", conf.getPath(),
          "httpfs.proxyuser." + user + ".hosts", "*",
          "httpfs.proxyuser." + user + ".groups", "*");
      // HttpFS resets log4j as it starts, to httpfs-log4j.properties there (else INFO and more
      // to stderr): the launcher's own configuration.
      File log4j = new File(conf, "httpfs-log4j.properties");
      String launcherLog4j = System.getProperty("log4j.configuration");
      if (launcherLog4j != null) {
        try (InputStream in = new URL(launcherLog4j).openStream()) {
          Files.copy(in, log4j.toPath());
        }
      } else {
        Files.write(log4j.toPath(), ("log4j.rootLogger=WARN, err\n"
            + "log4j.appender.err=org.apache.log4j.ConsoleAppender\n"
            + "log4j.appender.err.Target=System.err\n"
            + "log4j.appender.err.layout=org.apache.log4j.PatternLayout\n"
            + "log4j.appender.err.layout.ConversionPattern=%d{ISO8601} %p %c{1}: %m%n\n")
            .getBytes(StandardCharsets.UTF_8));
      }
      // The secret its authentication cookies are signed with, in the file httpfs-default.xml
      // names: random, for this run.
      byte[] secret = new byte[32];
      new SecureRandom().nextBytes(secret);
      StringBuilder hex = new StringBuilder();
      for (byte b : secret) hex.append(String.format("%02x", b));
      Files.write(new File(conf, "httpfs-signature.secret").toPath(),
          hex.toString().getBytes(StandardCharsets.US_ASCII));

      // The web server's settings: what its main() reads (httpfs-default.xml, and httpfs-site.xml
      // from the classpath: there is none), with the address set here: 127.0.0.1, a free port.
      // Its constructor is package-private; main() would block, and not say the port.
      Configuration web = new Configuration(true);
      web.set("httpfs.http.hostname", "127.0.0.1");
      web.setInt("httpfs.http.port", 0);
      web.set("hadoop.http.temp.dir", temp.getPath());
      Constructor<HttpFSServerWebServer> make = HttpFSServerWebServer.class
          .getDeclaredConstructor(Configuration.class, Configuration.class);
      make.setAccessible(true);
      HttpFSServerWebServer server = make.newInstance(web, new Configuration(false));
      server.start();
      HttpFs h;
      try {
        h = new HttpFs(server, "http://127.0.0.1:" + server.getUrl().getPort());
        // It answers, as the user minidfs.sh's program is, through the proxy user.
        HttpURLConnection c = (HttpURLConnection) new URL(
            h.url + "/webhdfs/v1/?op=GETFILESTATUS&user.name=k8sha").openConnection();
        c.setConnectTimeout(10000);
        c.setReadTimeout(30000);
        int code = c.getResponseCode();
        InputStream body = code < 400 ? c.getInputStream() : c.getErrorStream();
        String text = body == null ? "" : new String(body.readAllBytes(), StandardCharsets.UTF_8);
        c.disconnect();
        if (code != 200) {
          throw new IllegalStateException("HttpFS answers " + code + ", not 200: "
              + text.substring(0, Math.min(text.length(), 300)));
        }
      } catch (Throwable e) {
        server.stop();
        throw e;
      }
      return h;
    }

    void stop() {
      try {
        server.stop();
      } catch (Exception e) {
        // (the cluster is shut down all the same)
      }
    }

    // A Hadoop configuration file of these NAME, VALUE pairs (no character in them to escape).
    private static void writeConf(File file, String... nameValues) throws Exception {
      StringBuilder xml = new StringBuilder("<configuration>\n");
      for (int i = 0; i + 1 < nameValues.length; i += 2) {
        xml.append("  <property><name>").append(nameValues[i]).append("</name><value>")
            .append(nameValues[i + 1]).append("</value></property>\n");
      }
      xml.append("</configuration>\n");
      Files.write(file.toPath(), xml.toString().getBytes(StandardCharsets.UTF_8));
    }
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
