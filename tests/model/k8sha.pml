/*
 * k8sha.pml: a Promela model of libk8sha's leader election, job ConfigMap claims, fenced
 * writes and checkpoint retention, checked by Spin (tests/model/check.sh). How each part maps
 * to the C code, what is abstracted and what was measured: docs/model.md.
 *
 * Processes
 *   Contender[NC]  one libk8sha process: its elector (lib/election/elector.c, elector_write.c, lock.c), one
 *                  fenced ConfigMap per job (lib/election/fenced*.c) and the checkpoint store and
 *                  counter on it (lib/store/checkpoint*.c, handles*.c), with its blob writes.
 *   Server         the API server applying delayed writes late (see the network below).
 *   Operator       deletes the lock object (kubectl delete, another tool); the job
 *                  ConfigMaps stay.
 *   Monitor        checks property (b) in every state.
 * The objects (the lock ConfigMap, the job ConfigMaps, the blob store) are global variables.
 *
 * The network. A write is either answered at once, or delayed: its client then gets no answer
 * (timeout, reset, 5xx, or the answer was lost: an unknown outcome) and goes on, while the
 * request lands later, at any moment, in any order with other delayed requests, or never. An
 * answer that arrives late is equivalent to a client that pauses before its next step, and a
 * request that lands late while its client still waits is equivalent to one sent late, since
 * a client's request depends only on what it had read before; so these two cases are enough.
 * Reads (the watch, GETs) are snapshots. A job ConfigMap's GET is a step of its own, as in the
 * code, so a read followed by a write that loses a race is explored; the lock is read in the
 * step that uses it (losing a race for the lock changes nothing). No fairness is assumed: any process may pause for as long as it likes,
 * and nothing forces a leader whose lease ran out to notice: time is not modelled at all, so
 * safety rests on the fencing alone.
 *
 * Properties (a "PROPERTY (x) violated" line precedes the failed assertion in a trail):
 *   (a) no write of a deposed leadership commits after a newer leadership's claim on the same
 *       object: on a job ConfigMap, after a newer leadership completed its claim; on the lock,
 *       after the record stopped naming the writer
 *   (b) every retained (unmarked) checkpoint pointer has its blob (Monitor, every state)
 *   (c) at most one holder per term in the lock record (per incarnation of the lock object)
 *   (d) terms never go back: on a job ConfigMap, and on the lock within one incarnation
 *
 * Seeded bugs (each must make the verifier fail; check.sh shows it does):
 *   BUG_NO_CLAIM              opening a job store reads the ConfigMap but writes no claim
 *   BUG_DELETE_BEFORE_COMMIT  retention deletes the retired checkpoints' blobs before the
 *                             update that marks them has committed
 *   BUG_DISCARD_UNKNOWN       an add whose outcome is unknown deletes its blob
 *   BUG_NO_FENCED_OUT         a store does not refuse a ConfigMap claimed with a higher term
 *   BUG_UNCONDITIONAL_LOCK    lock updates are sent without their resourceVersion
 *   BUG_NO_VERIFY             a store writes over a claim that is not its own (a lower term)
 *                             without reading the lock first: an older incarnation's leader
 *                             with a higher term overrides the claim of the lock's leader
 *   BUG_TERM_ONLY             a ConfigMap carrying our term counts as ours whatever its session
 *                             (the code before the session check): a lock created again with a
 *                             term already used lets two leaderships write (docs/model.md)
 * A recreated lock may start at any term its creator's max_term gives: a process that never saw
 * the last term (a restart, a watch gap) reuses a term an earlier leadership claimed with.
 * Reachability probes (each must be reached, so that a clean run is not vacuous):
 *   REACH_FENCED, REACH_LATE, REACH_RECREATED, REACH_DROP, REACH_REUSED (see REACHED below)
 * Reductions that can be switched off: NO_SYMMETRY (the first leadership may be any
 * contender's, not only c0's), and NO_DEADLINE removes the leader's own step-down.
 */

/* Bounds. The defaults are check.sh's main configuration; it also runs others. */
#ifndef NC
#define NC 2            /* contenders */
#endif
#ifndef NJOBS
#define NJOBS 2         /* jobs the leaders work on (1: job 1 stays idle) */
#endif
#ifndef NCK
#define NCK 2           /* checkpoint ids 1..NCK of job 0 */
#endif
#ifndef NCK1
#define NCK1 1          /* checkpoint ids 1..NCK1 of job 1 */
#endif
#ifndef MAXG
#define MAXG 2          /* leaderships: lock writes that name a holder in a new term */
#endif
#ifndef MAXGU
#define MAXGU 1         /* writes delayed and given up on (unknown outcomes) in one run */
#endif
#ifndef MAXT
#define MAXT 3          /* highest lock term (leaderTransitions) a contender asks for */
#endif
#ifndef NDEL
#define NDEL 1          /* deletions of the lock object */
#endif
#ifndef MAXRENEW
#define MAXRENEW 1      /* renewals (leader_write) that land in one run */
#endif
#define MAXRETRY 1      /* 409s re-read and retried by one fenced operation, then ECONFLICT */
#define NJ 2            /* job ConfigMaps */
#if NCK > 3 || NCK1 > 3
#error "checkpoint ids are kept in 2-bit fields of a byte: at most 3 per job"
#endif
#if MAXGU < 1 || MAXGU > 4
#error "MAXGU must be 1..4"
#endif
#define IDS(j) ((j) == 0 -> NCK : NCK1)
#define NONE 255

/* writes */
#define L_CREATE 1      /* try_acquire on an absent lock: create it naming us */
#define L_ACQUIRE 2     /* try_acquire: update naming us in a new term */
#define L_RENEW 3       /* leader_write: renew / publish, same holder and term */
#define J_CREATE 4      /* step_term, OP_CLAIM on an absent job ConfigMap */
#define J_UPDATE 5      /* step_term: claim, counter or add, stamped with our term */

/* answers */
#define OK 1
#define CONFLICT 2      /* 409: resourceVersion mismatch, or AlreadyExists */
#define NOTFOUND 3      /* 404 */
#define LOST 4          /* (server side only) the request never reaches etcd */

/* the operation a contender has under way */
#define OP_ACQ 1
#define OP_RENEW 2
#define OP_CLAIM 3
#define OP_COUNTER 4
#define OP_ADD 5

/* checkpoint entries */
#define ABSENT 0
#define LIVE 1
#define MARKED 2        /* "deleting:" prefix: counts as absent for every read */

typedef Req {
  byte kind;            /* 0: free slot */
  byte from;            /* the contender that sent it */
  byte j;
  byte fresh;           /* its resourceVersion is still the object's (see below) */
  byte term;            /* lock: leaderTransitions; job ConfigMap: libk8sha/term + 1 */
  byte ck;
  byte ctr;
  byte wgen             /* ghost: the leadership that sends it */
};

/* ---------------- the API server's objects ---------------- */

/* resourceVersions are compared for equality only and never repeat (etcd's revision), so a
 * conditional write succeeds exactly when the object has not been written since the version
 * it carries was read. The model keeps that fact instead of the numbers: a "fresh" bit on each
 * cached view and each request in flight, cleared when the object is written or deleted. */

bool lk_ex;
byte lk_holder;         /* holderIdentity: contender + 1; 0 = "" */
byte lk_term;           /* leaderTransitions */
byte lk_th[MAXT + 1];   /* ghost: holder + 1 each term had in this incarnation of the lock */
byte lk_gen;            /* the leadership the record names: stands for what the code compares
                         * (metadata.uid, a record this process wrote, and its term) */
byte ggen;              /* ghost: leaderships so far (the last one's number) */
byte ndel;
byte ngu;               /* requests given up on so far */
byte nrenew;            /* renewals landed so far */

bool jb_ex[NJ];
byte jb_term[NJ];       /* libk8sha/term + 1; 0: never claimed */
byte jb_sess[NJ];       /* libk8sha/session: the leadership that stamped the claim */
byte jb_ck[NJ];         /* 2 bits per checkpoint id */
byte jb_ctr[NJ];        /* "counter": the next checkpoint id */
byte jclaimg[NJ];       /* ghost: the newest leadership that has completed a claim */

byte blob[NJ];          /* storage: bit id-1 set while the checkpoint's blob exists */

/* ---------------- the network ---------------- */

/* A write is either answered at once, or delayed: then its client gives up on it at once
 * (timeout, reset, 5xx, or the answer was lost: K8SHA_EUNKNOWN_OUTCOME) and the request lands
 * later, at any moment, or never. Slots 0..MAXGU-1 hold delayed requests (each is used once);
 * slot MAXGU carries the write being answered at once. */
Req rq[MAXGU + 1];
#define NOW MAXGU

/* scratch, meaningful only inside one d_step (always 0 between steps, so it adds no states) */
byte hc, hj, hs, hk, hm, hst, ht, hnck, herr, hfr, hck, hctr, hw, hkind;

/* ---------------- contenders ---------------- */

bool lead[NC];          /* e->st == E_LEADER */
byte term[NC];          /* e->term: the term of its leadership */
byte gen[NC];           /* ghost: which leadership that is */
byte maxseen[NC] = NONE;/* lock.c max_term: the highest leaderTransitions it observed */
byte op[NC];
byte opj[NC];
byte opid[NC];          /* OP_ACQ: the term asked; OP_COUNTER: the id handed out; OP_ADD: the id */
byte conf[NC];          /* f->conflicts */
byte esub[NC];          /* OP_ADD: hop->subsumed, the entries the update leaves marked */

#define X(me, j) ((me) * NJ + (j))
bool jv_known[NC * NJ]; /* fcm: f->known, and f->obj below */
bool jv_ex[NC * NJ];
bool jv_fresh[NC * NJ];
byte jv_term[NC * NJ];
byte jv_sess[NC * NJ];
byte jv_ck[NC * NJ];
byte jv_ctr[NC * NJ];
bool claimed[NC * NJ];  /* f->claimed (the store is open) */
byte pend[NC * NJ];     /* a checkpoint id from get_and_increment, not yet added */
byte deleted[NC * NJ];  /* hstore->deleted: marked ids whose blobs this store deleted */
byte sub[NC * NJ];      /* P_SUBSUME still to do: marked ids whose blobs go after a commit */

/* ---------------- helpers ---------------- */

#define MAX(a, b) ((a) > (b) -> (a) : (b))
#define CK(v, k) (((v) >> (((k) - 1) * 2)) & 3)
#define BIT(k) (1 << ((k) - 1))
#define LIVEMASK(v) ((CK(v, 1) == LIVE -> 1 : 0) | (CK(v, 2) == LIVE -> 2 : 0) | (CK(v, 3) == LIVE -> 4 : 0))
/* try_acquire: max(seen + 1, max_seen + 1), 0 for a first lock */
#define MS1(me) (maxseen[me] == NONE -> 0 : maxseen[me] + 1)
#define NEWTERM(me) (lk_ex -> MAX(lk_term + 1, MS1(me)) : MS1(me))

#ifdef BUG_NO_FENCED_OUT
#define FENCED_OUT(me, j) (false)
#elif defined(BUG_TERM_ONLY)
#define FENCED_OUT(me, j) (jv_term[X(me, j)] > term[me] + 1)
#else
/* fenced_term.c fenced_out(): a higher term, or our term with another leadership's session */
#define FENCED_OUT(me, j) (jv_term[X(me, j)] > term[me] + 1 || \
          (jv_term[X(me, j)] == term[me] + 1 && jv_sess[X(me, j)] != gen[me]))
#endif

/* the cached ConfigMap carries our own claim: our term and our leadership's session */
#define OURS(me, j) (jv_term[X(me, j)] == term[me] + 1 && jv_sess[X(me, j)] == gen[me])

/* property (b): every live (unmarked) checkpoint pointer has its blob */
#define RETAINED_OK(j) ((LIVEMASK(jb_ck[j]) & (7 - blob[j])) == 0)
#define INV_B (RETAINED_OK(0) && RETAINED_OK(1))

inline ckset(v, k, s) {
  v = (v & (255 - (3 << (((k) - 1) * 2)))) | ((s) << (((k) - 1) * 2))
}

#define VIOLATED(msg) printf(msg); assert(false)
/* reachability probes (check.sh): each REACH_* makes its situation an "error", so that a clean
 * run cannot pass because the situation never arises within the bounds */
#define REACHED(msg) printf("REACHED: "); printf(msg); assert(false)

/* ---------------- the server ---------------- */

/* names for the narration spin -t prints */
inline pkind(k) {
  if
  :: k == L_CREATE -> printf("create lock")
  :: k == L_ACQUIRE -> printf("acquire lock")
  :: k == L_RENEW -> printf("renew lock")
  :: k == J_CREATE -> printf("create job")
  :: k == J_UPDATE -> printf("update job")
  :: else -> printf("?")
  fi
}
inline pans(a) {
  if
  :: a == OK -> printf("200 OK")
  :: a == CONFLICT -> printf("409 Conflict")
  :: a == NOTFOUND -> printf("404 NotFound")
  :: else -> printf("dropped (a bound or an assumption of the model)")
  fi
}

inline clear_slot(i) {
  rq[i].kind = 0; rq[i].from = 0; rq[i].j = 0; rq[i].fresh = 0; rq[i].term = 0; rq[i].ck = 0;
  rq[i].ctr = 0; rq[i].wgen = 0
}

/* The lock is written or deleted: every version of it read before is out of date. A delayed
 * write conditional on such a version can only be answered 409, and nobody waits for that
 * answer: it is dropped here, which changes nothing but the size of the state space. */
inline stale_lock() {
  rq[NOW].fresh = 0;
#ifndef BUG_UNCONDITIONAL_LOCK
  for (hk : 0 .. MAXGU - 1) {
    if
    :: rq[hk].kind == L_ACQUIRE || rq[hk].kind == L_RENEW -> clear_slot(hk)
    :: rq[hk].kind == L_CREATE && lk_ex && ndel >= NDEL -> clear_slot(hk)   /* AlreadyExists */
    :: else
    fi
  };
#endif
  hk = 0
}

/* job ConfigMap jj is written (job ConfigMaps are never deleted here) */
inline stale_job(jj) {
  rq[NOW].fresh = 0;
  for (hk : 0 .. MAXGU - 1) {
    if
    :: rq[hk].kind == J_UPDATE && rq[hk].j == jj -> clear_slot(hk)
    :: rq[hk].kind == J_CREATE && rq[hk].j == jj -> clear_slot(hk)
    :: else
    fi
  };
  for (hk : 0 .. NC - 1) { jv_fresh[X(hk, jj)] = false };
  hk = 0
}

/* a lock record naming contender h in term t is written: properties (c) and (d) */
inline lock_record(h, t, is_new) {
  if
  :: lk_th[t] != 0 && lk_th[t] != h + 1 ->
     VIOLATED("PROPERTY (c) violated: two holders for one term in the lock record\n")
  :: else -> lk_th[t] = h + 1
  fi;
  if
  :: !is_new && t < lk_term ->
     VIOLATED("PROPERTY (d) violated: the lock's term went back\n")
  :: else
  fi;
  lk_ex = true;
  stale_lock();
  lk_holder = h + 1;
  lk_term = t
}

/* a write from contender w lands on job ConfigMap jj: properties (a) and (d) */
inline job_write(w, jj) {
  if
  :: hw < jclaimg[jj] ->
     VIOLATED("PROPERTY (a) violated: a write of a deposed leadership committed after a newer claim\n")
  :: else
  fi;
  if
  :: jb_ex[jj] && ht < jb_term[jj] ->
     VIOLATED("PROPERTY (d) violated: a job ConfigMap's term went back\n")
  :: else
  fi;
  jb_ex[jj] = true;
  jb_term[jj] = ht;
  jb_sess[jj] = hw;
  jb_ck[jj] = hck;
  jb_ctr[jj] = hctr;
  stale_job(jj)
}

/* The API server applies request i (taken out of its slot first) and leaves its answer in
 * hst: OK, CONFLICT, NOTFOUND, or LOST when a bound of the model drops it. */
inline apply(i) {
  hm = rq[i].kind; hc = rq[i].from; hj = rq[i].j; hfr = rq[i].fresh; ht = rq[i].term;
  hck = rq[i].ck; hctr = rq[i].ctr; hw = rq[i].wgen;
  clear_slot(i);
  printf("  server: "); pkind(hm);
  if
  :: hm < J_CREATE -> printf(" (term %d) from c%d", ht, hc)
  :: else -> printf(" %d (term %d) from c%d", hj, ht - 1, hc)
  fi;
  if
  :: hw == 0 -> printf(" (not leading)\n")
  :: else -> printf(" of leadership %d\n", hw)
  fi;
  if
  :: hm == L_CREATE ->
     if
     :: lk_ex -> hst = CONFLICT                          /* AlreadyExists */
     :: ggen >= MAXG -> hst = LOST                       /* bound */
#ifndef NO_SYMMETRY
     /* the contenders are interchangeable: explore only runs whose first leadership is c0's */
     :: ggen == 0 && hc != 0 -> hst = LOST
#endif
     :: else -> lock_record(hc, ht, true); ggen++; lk_gen = ggen; hst = OK
     fi
  :: hm == L_ACQUIRE ->
     if
     :: !lk_ex -> hst = NOTFOUND
#ifndef BUG_UNCONDITIONAL_LOCK
     :: !hfr -> hst = CONFLICT
#endif
     :: ggen >= MAXG -> hst = LOST                       /* bound */
     :: else -> lock_record(hc, ht, false); ggen++; lk_gen = ggen; hst = OK
     fi
  :: hm == L_RENEW ->
     if
     :: !lk_ex -> hst = NOTFOUND
#ifndef BUG_UNCONDITIONAL_LOCK
     :: !hfr -> hst = CONFLICT
#endif
     :: nrenew >= MAXRENEW -> hst = LOST                 /* bound */
     :: else ->
        /* (a) on the lock: a leader's write lands only while the record names it */
        if
        :: lk_holder != hc + 1 ->
           VIOLATED("PROPERTY (a) violated: a deposed leader's write to the lock committed\n")
        :: else
        fi;
        lock_record(hc, ht, false);
        nrenew++;
        hst = OK
     fi
  :: hm == J_CREATE ->
     if
     :: jb_ex[hj] -> hst = CONFLICT                      /* AlreadyExists */
     :: else -> job_write(hc, hj); hst = OK
     fi
  :: hm == J_UPDATE ->
     if
     :: !jb_ex[hj] -> hst = NOTFOUND
     :: !hfr -> hst = CONFLICT
     :: else ->
#ifdef REACH_LATE
        if
        :: (i) != NOW && hw != gen[hc] && LIVEMASK(hck) != 0 ->
           REACHED("a delayed update carrying checkpoints landed after its writer's leadership ended\n")
        :: else
        fi;
#endif
        job_write(hc, hj); hst = OK
     fi
  fi;
  printf("    -> "); pans(hst); printf("\n");
  hm = 0; hc = 0; hj = 0; hfr = 0; ht = 0; hck = 0; hctr = 0; hw = 0
}

/* ---------------- a contender ---------------- */

/* prepare a write in the slot for writes answered at once */
inline send(me, kind_, j_, fresh_, term_, ck_, ctr_) {
  rq[NOW].kind = kind_; rq[NOW].from = me; rq[NOW].j = j_; rq[NOW].fresh = fresh_;
  rq[NOW].term = term_; rq[NOW].ck = ck_; rq[NOW].ctr = ctr_; rq[NOW].wgen = gen[me];
  hs = 1
}

/* the lock as a read or the watch delivers it: lock.c set_latest() keeps max_term */
inline see(me) {
  if
  :: lk_ex && (maxseen[me] == NONE || lk_term > maxseen[me]) -> maxseen[me] = lk_term
  :: else
  fi
}

inline forget(me, jj) {      /* fenced*.c: f->known = 0 */
  jv_known[X(me, jj)] = false; jv_ex[X(me, jj)] = false; jv_fresh[X(me, jj)] = false;
  jv_term[X(me, jj)] = 0; jv_ck[X(me, jj)] = 0; jv_ctr[X(me, jj)] = 0;
  jv_sess[X(me, jj)] = 0;
  skip
}

/* fenced_term.c: the GET of a job ConfigMap (set_obj) */
inline jread(me, jj) {
  printf("c%d reads job %d: ", me, jj);
  if
  :: !jb_ex[jj] -> printf("absent\n")
  :: else ->
     printf("term %d, counter %d, checkpoints", jb_term[jj] - 1, jb_ctr[jj]);
     for (hk : 1 .. NCK) {
       if
       :: CK(jb_ck[jj], hk) == LIVE -> printf(" %d", hk)
       :: CK(jb_ck[jj], hk) == MARKED -> printf(" %d(marked)", hk)
       :: else
       fi
     };
     printf("\n");
     hk = 0
  fi;
  jv_known[X(me, jj)] = true;
  jv_ex[X(me, jj)] = jb_ex[jj];
  if
  :: jb_ex[jj] ->
     jv_fresh[X(me, jj)] = true; jv_term[X(me, jj)] = jb_term[jj];
     jv_ck[X(me, jj)] = jb_ck[jj]; jv_ctr[X(me, jj)] = jb_ctr[jj];
     jv_sess[X(me, jj)] = jb_sess[jj];
     skip
  :: else
  fi
}

inline op_done(me) {
  op[me] = 0; opj[me] = 0; opid[me] = 0; conf[me] = 0; esub[me] = 0
}

/* A definite failure (ENOTLEADER, ENOTFOUND, ECONFLICT, EINVAL): an add that wrote its blob
 * deletes it again (handles_steps.c discard_new). */
inline fail(me, jj, wrote_blob) {
  if
  :: op[me] == OP_ADD ->
     if
     :: wrote_blob ->
        blob[jj] = blob[jj] & (7 - BIT(opid[me]));
        printf("c%d: add of checkpoint %d failed definitely: its blob is deleted\n", me, opid[me])
     :: else
     fi;
     pend[X(me, jj)] = 0
  :: else
  fi;
  op_done(me)
}

inline close_store(me, jj) { /* a store belongs to one leadership */
  forget(me, jj);
  claimed[X(me, jj)] = false; pend[X(me, jj)] = 0; deleted[X(me, jj)] = 0
}

inline step_down(me) {       /* elector.c k8sha__elector_step_down() */
  printf("c%d steps down\n", me);
  if
  :: op[me] != 0 -> fail(me, opj[me], op[me] == OP_ADD)  /* the retry finds it is not leader */
  :: else
  fi;
  lead[me] = false; term[me] = 0; gen[me] = 0;
  close_store(me, 0);
  close_store(me, 1)
}

/* k8sha__elector_evaluate() + k8sha__elector_try_acquire(): the lease is taken to have expired whenever the contender likes
 * (time is not modelled); the write is conditional on the version it read */
inline acquire(me) {
  see(me);
  op[me] = OP_ACQ;
  opid[me] = NEWTERM(me);
  if
  :: lk_ex -> send(me, L_ACQUIRE, 0, 1, opid[me], 0, 0)
  :: else -> send(me, L_CREATE, 0, 0, opid[me], 0, 0)
  fi
}

/* a leader looks at the lock (watch event, or the read after a 409): k8sha__elector_evaluate() steps down
 * when the lock is gone or its record is not one this contender wrote (k8sha__elector_is_ours) */
inline look(me) {
  see(me);
  if
  :: !lk_ex || lk_holder != (me) + 1 -> step_down(me)
  :: else
  fi
}

/* elector_write.c k8sha__elector_leader_write(): renew / publish on the record as it is, conditional on its version */
inline renew(me) {
  see(me);
  if
  :: !lk_ex || lk_holder != (me) + 1 -> step_down(me)
  :: else -> op[me] = OP_RENEW; send(me, L_RENEW, 0, 1, lk_term, 0, 0)
  fi
}

/* the claim is ours: the store is open (its callback runs) */
inline claim_done(me, jj) {
#ifdef REACH_RECREATED
  if
  :: ndel > 0 && jclaimg[jj] != 0 && jclaimg[jj] < gen[me] ->
     REACHED("a leader on a recreated lock claimed a job an earlier leadership had claimed\n")
  :: else
  fi;
#endif
  printf("c%d has claimed job %d in term %d (leadership %d)\n", me, jj, term[me], gen[me]);
  claimed[X(me, jj)] = true;
  jclaimg[jj] = MAX(jclaimg[jj], gen[me]);
  op_done(me)
}

/* handles_edit.c k8sha__h_edit_put() + handles.c's retention with num-retained 1, on the cached state: the new entries in
 * hnck, hop->subsumed in esub, EINVAL in herr */
inline edit_add(me, jj) {
  hnck = jv_ck[X(me, jj)];
  assert(CK(hnck, opid[me]) == ABSENT);   /* ids come from the fenced counter: never reused */
  ckset(hnck, opid[me], LIVE);
  esub[me] = 0;
  for (hk : 1 .. NCK) {   /* marked: dropped if this store deleted the blob, else subsumed */
    if
    :: CK(hnck, hk) == MARKED && (deleted[X(me, jj)] & BIT(hk)) != 0 ->
#ifdef REACH_DROP
       REACHED("retention dropped a marked entry whose blob this store had deleted\n");
#endif
       ckset(hnck, hk, ABSENT)
    :: CK(hnck, hk) == MARKED && (deleted[X(me, jj)] & BIT(hk)) == 0 ->
       esub[me] = esub[me] | BIT(hk)
    :: else
    fi
  };
  hm = 0;
  for (hk : 1 .. NCK) {   /* the newest live entry */
    if
    :: CK(hnck, hk) == LIVE -> hm = hk
    :: else
    fi
  };
  for (hk : 1 .. NCK) {   /* older live entries are marked in the same update */
    if
    :: CK(hnck, hk) == LIVE && hk != hm && hk == opid[me] -> herr = 1
    :: CK(hnck, hk) == LIVE && hk != hm && hk != opid[me] ->
       ckset(hnck, hk, MARKED);
       esub[me] = esub[me] | BIT(hk)
    :: else
    fi
  };
  hk = 0; hm = 0
}

/* fenced_term.c k8sha__fcm_step_term() for the operation under way on job jj, on the cached state.
 * `first`: an add that has not written its blob yet (P_CHECK); otherwise a retry after a 409
 * (P_COMMIT). Sends at most one write (hs = 1). */
inline jstep(me, jj, first) {
  if
  :: !jv_ex[X(me, jj)] && op[me] == OP_CLAIM ->
     send(me, J_CREATE, jj, 0, term[me] + 1, 0, 1)
  :: !jv_ex[X(me, jj)] && op[me] != OP_CLAIM ->
     fail(me, jj, !first)                                       /* ENOTFOUND */
  :: jv_ex[X(me, jj)] && FENCED_OUT(me, jj) ->
#ifdef REACH_FENCED
     if
     :: conf[me] > 0 -> REACHED("a write refused by a newer claim, found on re-reading after a 409\n")
     :: else
     fi;
#endif
     /* k8sha__election_term_used(): the next acquisition starts above the term found (the
      * retake itself is a step-down and an acquisition, both already in the model) */
     maxseen[me] = (maxseen[me] == NONE -> jv_term[X(me, jj)] - 1
                                         : MAX(maxseen[me], jv_term[X(me, jj)] - 1));
#ifdef REACH_REUSED
     if
     :: jv_term[X(me, jj)] == term[me] + 1 ->
        REACHED("a ConfigMap refused: our term, claimed by another leadership (a reused term)\n")
     :: else
     fi;
#endif
     fail(me, jj, !first)                                       /* ENOTLEADER */
  :: jv_ex[X(me, jj)] && !FENCED_OUT(me, jj) && op[me] == OP_CLAIM &&
     jv_term[X(me, jj)] == term[me] + 1 ->
     claim_done(me, jj)                                         /* claimed in our term */
#ifdef BUG_NO_CLAIM
  :: jv_ex[X(me, jj)] && !FENCED_OUT(me, jj) && op[me] == OP_CLAIM ->
     claim_done(me, jj)                                         /* BUG: no claim written */
#endif
#ifndef BUG_NO_VERIFY
  /* fenced_term.c needs_verify() + on_lock_verified(): before writing over a claim that is not ours (a lower term: a takeover, or
   * an older incarnation's leader that claimed after us), a fresh read of the lock must name
   * this leadership; the write stays conditional on the version of the ConfigMap read before */
  :: jv_ex[X(me, jj)] && !FENCED_OUT(me, jj) && !OURS(me, jj) && !(lk_ex && lk_gen == gen[me]) ->
     printf("c%d reads the lock: it does not name leadership %d\n", me, gen[me]);
     fail(me, jj, !first)                                       /* ENOTLEADER */
#endif
  :: else ->
     if
     :: op[me] == OP_CLAIM ->
        send(me, J_UPDATE, jj, jv_fresh[X(me, jj)], term[me] + 1, jv_ck[X(me, jj)],
             jv_ctr[X(me, jj)])
     :: op[me] == OP_COUNTER && jv_ctr[X(me, jj)] > IDS(jj) ->
        op_done(me)                                             /* bound: no more ids */
     :: op[me] == OP_COUNTER && jv_ctr[X(me, jj)] <= IDS(jj) ->
        opid[me] = jv_ctr[X(me, jj)];                           /* edit_counter */
        send(me, J_UPDATE, jj, jv_fresh[X(me, jj)], term[me] + 1, jv_ck[X(me, jj)],
             jv_ctr[X(me, jj)] + 1)
     :: op[me] == OP_ADD ->
        edit_add(me, jj);
        if
        :: herr -> fail(me, jj, !first)                         /* EINVAL */
        :: else ->
           if
           :: first ->                                          /* P_BLOB_WRITE: blob first */
              blob[jj] = blob[jj] | BIT(opid[me]);
              printf("c%d writes the blob of checkpoint %d of job %d\n", me, opid[me], jj)
           :: else
           fi;
#ifdef BUG_DELETE_BEFORE_COMMIT
           if                                                   /* BUG: before the commit */
           :: esub[me] != 0 ->
              blob[jj] = blob[jj] & (7 - esub[me]);
              printf("c%d deletes the blobs of the checkpoints its update retires (mask %d) before sending it\n", me, esub[me])
           :: else
           fi;
#endif
           send(me, J_UPDATE, jj, jv_fresh[X(me, jj)], term[me] + 1, hnck, jv_ctr[X(me, jj)])
        fi;
        herr = 0; hnck = 0
     fi
  fi
}

/* a leader's next operation on job jj: open the store (claim), get_and_increment, add; or
 * the retry of the one a 409 interrupted */
inline jobop(me, jj) {
  if
  :: op[me] != 0 -> jstep(me, jj, false)
  :: op[me] == 0 ->
     opj[me] = jj;
     if
     :: !claimed[X(me, jj)] -> op[me] = OP_CLAIM
     :: claimed[X(me, jj)] && pend[X(me, jj)] != 0 -> op[me] = OP_ADD; opid[me] = pend[X(me, jj)]
     :: else -> op[me] = OP_COUNTER
     fi;
     jstep(me, jj, true)
  fi
}
#define JOBREADY(me, jj) (op[me] == 0 && (!claimed[X(me, jj)] || pend[X(me, jj)] != 0 || \
                          jv_ctr[X(me, jj)] <= IDS(jj)) || op[me] != 0 && opj[me] == jj)

/* P_SUBSUME: after a committed add, the blobs of the entries it left marked, one at a time */
inline subsume(me, jj) {
  if
  :: (sub[X(me, jj)] & 1) != 0 -> hk = 1
  :: (sub[X(me, jj)] & 1) == 0 && (sub[X(me, jj)] & 2) != 0 -> hk = 2
  :: else -> hk = 3
  fi;
  blob[jj] = blob[jj] & (7 - BIT(hk));
  printf("c%d deletes the blob of retired checkpoint %d of job %d\n", me, hk, jj);
  if
  :: lead[me] -> deleted[X(me, jj)] = deleted[X(me, jj)] | BIT(hk)   /* (when it leads again,
                 the code's new store would delete the blob once more before dropping the key) */
  :: else
  fi;
  sub[X(me, jj)] = sub[X(me, jj)] & (7 - BIT(hk));
  hk = 0
}

/* the answer hst to the write just made */
inline answer(me) {
  if
  :: op[me] == OP_ACQ ->
     if
     :: hst == OK ->                                /* on_acquired() */
        see(me);                                    /* on_written(): set_latest() */
        lead[me] = true; term[me] = opid[me]; gen[me] = ggen;
        printf("c%d leads in term %d (leadership %d)\n", me, term[me], gen[me])
     :: else                                        /* lost the race, or the lock is gone */
     fi;
     op_done(me)
  :: op[me] == OP_RENEW ->
     if
     :: hst == OK -> see(me)
     :: hst == NOTFOUND -> step_down(me)
     :: else                                        /* a 409: the lock is read again, look() */
     fi;
     op_done(me)
  :: op[me] >= OP_CLAIM && hst == OK ->             /* fenced_term.c on_response(): set_obj, claimed */
     jread(me, opj[me]);
     if
     :: op[me] == OP_CLAIM -> claim_done(me, opj[me])
     :: op[me] == OP_COUNTER -> pend[X(me, opj[me])] = opid[me]; op_done(me)
     :: op[me] == OP_ADD ->
        sub[X(me, opj[me])] = sub[X(me, opj[me])] | esub[me];   /* P_SUBSUME next */
        pend[X(me, opj[me])] = 0;
        op_done(me)
     fi
  :: op[me] >= OP_CLAIM && hst == CONFLICT ->       /* k8sha__fcm_conflict(): re-read, then retry */
     conf[me]++;
     forget(me, opj[me]);
     if
     :: conf[me] > MAXRETRY -> fail(me, opj[me], op[me] == OP_ADD)      /* ECONFLICT */
     :: else                                        /* the op stays under way */
     fi
  :: op[me] >= OP_CLAIM && hst == NOTFOUND ->
     forget(me, opj[me]);
     jv_known[X(me, opj[me])] = true;
     fail(me, opj[me], op[me] == OP_ADD)
  :: hst == LOST -> give_up(me)                     /* dropped by a bound: a timeout */
  fi
}

/* No answer (timeout, reset, 5xx, a lost answer): K8SHA_EUNKNOWN_OUTCOME. */
inline give_up(me) {
  if
  :: op[me] == OP_ADD ->                             /* the blob is kept */
#ifdef BUG_DISCARD_UNKNOWN
     blob[opj[me]] = blob[opj[me]] & (7 - BIT(opid[me]));   /* BUG */
     printf("c%d deletes the blob of checkpoint %d although the outcome is unknown\n", me, opid[me]);
#endif
     pend[X(me, opj[me])] = 0;
     forget(me, opj[me])
  :: op[me] == OP_CLAIM || op[me] == OP_COUNTER -> forget(me, opj[me])
  :: else
  fi;
  op_done(me)
}

/* After an action: the write it prepared (if any) is answered at once, or is delayed and
 * given up on (it lands later, or never). */
inline dispatch(me, now) {
  if
  :: hs && now -> apply(NOW); answer(me)
  :: hs && !now ->
     rq[ngu].kind = rq[NOW].kind; rq[ngu].from = me; rq[ngu].j = rq[NOW].j;
     rq[ngu].fresh = rq[NOW].fresh; rq[ngu].term = rq[NOW].term; rq[ngu].ck = rq[NOW].ck;
     rq[ngu].ctr = rq[NOW].ctr; rq[ngu].wgen = rq[NOW].wgen;
     clear_slot(NOW);
     hkind = rq[ngu].kind;
     printf("c%d: ", me); pkind(hkind); hkind = 0;
     printf(" is delayed in the network; no answer in time: unknown outcome\n");
     ngu++;
     give_up(me)
  :: else
  fi;
  hs = 0; hst = 0
}

#define CAN_ACQUIRE(me) (!lead[me] && ggen < MAXG && NEWTERM(me) <= MAXT)
#define CAN_RENEW(me) (lead[me] && op[me] == 0 && nrenew < MAXRENEW)
#define NEEDS_READ(me, jj) (lead[me] && !jv_known[X(me, jj)] && (op[me] == 0 || opj[me] == jj))
#define CAN_JOB(me, jj) (lead[me] && jv_known[X(me, jj)] && JOBREADY(me, jj))

active [NC] proctype Contender()
{
  byte me = _pid;
end_c:
  do
  :: d_step { CAN_ACQUIRE(me) -> acquire(me); dispatch(me, true) }
  :: d_step { CAN_ACQUIRE(me) && ngu < MAXGU -> acquire(me); dispatch(me, false) }
  :: d_step { lead[me] -> look(me) }
#ifndef NO_DEADLINE
  :: d_step { lead[me] -> step_down(me) }                         /* k8sha__elector_on_deadline() */
#endif
  :: d_step { CAN_RENEW(me) -> renew(me); dispatch(me, true) }
  :: d_step { CAN_RENEW(me) && ngu < MAXGU -> renew(me); dispatch(me, false) }
  :: d_step { NEEDS_READ(me, 0) -> jread(me, 0) }                 /* the fenced GET */
  :: d_step { CAN_JOB(me, 0) -> jobop(me, 0); dispatch(me, true) }
  :: d_step { CAN_JOB(me, 0) && ngu < MAXGU -> jobop(me, 0); dispatch(me, false) }
#if NJOBS > 1
  :: d_step { NEEDS_READ(me, 1) -> jread(me, 1) }
  :: d_step { CAN_JOB(me, 1) -> jobop(me, 1); dispatch(me, true) }
  :: d_step { CAN_JOB(me, 1) && ngu < MAXGU -> jobop(me, 1); dispatch(me, false) }
#endif
  :: d_step { sub[X(me, 0)] != 0 -> subsume(me, 0) }
  :: d_step { sub[X(me, 1)] != 0 -> subsume(me, 1) }
  od
}

/* the API server applies a delayed request, late: nobody waits for its answer any more */
active proctype Server()
{
end_s:
  do
  :: d_step { rq[0].kind != 0 -> apply(0); hst = 0 }
#if MAXGU > 1
  :: d_step { rq[1].kind != 0 -> apply(1); hst = 0 }
#endif
#if MAXGU > 2
  :: d_step { rq[2].kind != 0 -> apply(2); hst = 0 }
#endif
#if MAXGU > 3
  :: d_step { rq[3].kind != 0 -> apply(3); hst = 0 }
#endif
  od
}

active proctype Operator()
{
end_o:
  do
  :: d_step { lk_ex && ndel < NDEL ->
       printf("operator deletes the lock\n");
       lk_ex = false; stale_lock(); lk_holder = 0; lk_term = 0; lk_gen = 0; ndel++;
       for (hk : 0 .. MAXT) { lk_th[hk] = 0 };
       hk = 0 }
  od
}

active proctype Monitor()
{
end_m:
  d_step { !INV_B -> printf("PROPERTY (b) violated: a retained checkpoint pointer has no blob\n") };
  assert(INV_B)
}
