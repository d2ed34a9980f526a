import { useEffect, useState } from 'preact/hooks';
import { ApprovalPage } from './Approval.js';
import { ActivityPage } from './held/ActivityPage.js';
import { ApproverPage } from './held/ApproverPage.js';
import { NewKitPage } from './NewKitPage.js';
import { OnboardingPage } from './Onboarding.js';
import { OverviewPage } from './Overview.js';
import { parseRoute } from './routes.js';
import { UnlockPage } from './Unlock.js';
import { CallsStatusPage } from './CallsStatusPage.js';

const titles = { overview: 'Tandem', onboarding: 'Set up Tandem', 'new-kit': 'Refresh key shares', unlock: 'Unlock Tandem', approve: 'Tandem request', activity: 'Tandem activity', approver: 'Tandem: approvals to give', calls: 'Tandem: calls', 'not-found': 'Tandem' } as const;

/** One page for every view: the worker and the toolbar open it with the view in `location.hash`. */
export function App() {
  const [route, setRoute] = useState(() => parseRoute(location.hash));

  useEffect(() => {
    const onHashChange = () => setRoute(parseRoute(location.hash));
    window.addEventListener('hashchange', onHashChange);
    return () => window.removeEventListener('hashchange', onHashChange);
  }, []);

  useEffect(() => {
    document.title = titles[route.name];
  }, [route.name]);

  switch (route.name) {
    case 'overview':
      return <OverviewPage />;
    case 'onboarding':
      return <OnboardingPage />;
    case 'new-kit':
      return <NewKitPage />;
    case 'unlock':
      return <UnlockPage next={route.next} />;
    case 'approve':
      return <ApprovalPage key={route.id} id={route.id} />;
    case 'activity':
      return <ActivityPage />;
    case 'approver':
      return <ApproverPage />;
    case 'calls':
      return <CallsStatusPage key={route.ref} bundleRef={route.ref} />;
    case 'not-found':
      return (
        <main class="page page-narrow">
          <p class="error" role="alert">
            Nothing here: <code>#{route.hash}</code>.
          </p>
          <a href="#/">Back to the wallet</a>
        </main>
      );
  }
}
